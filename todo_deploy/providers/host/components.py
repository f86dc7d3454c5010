"""Command lines of the node's daemons, in start order.

Ports: etcd, controller-manager, scheduler, kube-proxy and Traefik listen on 127.0.0.1 only.
The API server and kubelet listen on the bridge address (pods reach them there); nothing binds
the host's outside interfaces.
"""

from __future__ import annotations

from todo_deploy.providers.host.daemons import Daemon
from todo_deploy.providers.host.layout import (
    API_PORT,
    CLUSTER_DOMAIN,
    DOCKER_SOCKET,
    ETCD_PORT,
    INGRESS_PORT,
    NODE_IP,
    NODE_NAME,
    PAUSE_IMAGE,
    POD_CIDR,
    SERVICE_CIDR,
    Layout,
)
from todo_deploy.providers.host.pki import Pki

ETCD = "/usr/bin/etcd"
CNI_BIN_DIR = "/usr/lib/cni"  # Debian's containernetworking-plugins
TRAEFIK_PING_PORT = 10280
NETWORK_POLICY_METRICS_PORT = 10290
API_URL = f"https://{NODE_IP}:{API_PORT}"


def etcd(layout: Layout) -> Daemon:
    client = f"http://127.0.0.1:{ETCD_PORT}"
    peer = f"http://127.0.0.1:{ETCD_PORT + 1}"
    return Daemon(
        "etcd",
        (
            ETCD, "--name", NODE_NAME, "--data-dir", str(layout.state / "etcd"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"{NODE_NAME}={peer}",
            "--listen-metrics-urls", f"http://127.0.0.1:{ETCD_PORT + 2}",
            # A dev cluster's history is worthless: keep the database small.
            "--auto-compaction-retention", "1", "--quota-backend-bytes", str(2 * 1024**3),
        ),
        health_url=f"{client}/health",
    )  # fmt: skip


def apiserver(layout: Layout, pki: Pki) -> Daemon:
    return Daemon(
        "kube-apiserver",
        (
            str(layout.binary("kube-apiserver")),
            "--etcd-servers", f"http://127.0.0.1:{ETCD_PORT}",
            "--bind-address", NODE_IP, "--advertise-address", NODE_IP,
            "--secure-port", str(API_PORT),
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--client-ca-file", str(pki.path("ca")),
            "--tls-cert-file", str(pki.path("apiserver")),
            "--tls-private-key-file", str(pki.path("apiserver", "key")),
            "--kubelet-client-certificate", str(pki.path("apiserver-kubelet-client")),
            "--kubelet-client-key", str(pki.path("apiserver-kubelet-client", "key")),
            "--kubelet-certificate-authority", str(pki.path("ca")),
            # The node name is no DNS name: dial the kubelet at its bridge address.
            "--kubelet-preferred-address-types", "InternalIP",
            "--service-account-issuer", f"https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
            "--service-account-key-file", str(pki.path("sa", "pub")),
            "--service-account-signing-key-file", str(pki.path("sa", "key")),
            "--authorization-mode", "Node,RBAC",
            "--allow-privileged=true",
            # Webhooks and aggregated APIs dialled at pod IPs, not through ClusterIPs.
            "--enable-aggregator-routing=true",
            "--profiling=false",
        ),
        health_url=f"{API_URL}/livez",
    )  # fmt: skip


def controller_manager(layout: Layout, pki: Pki) -> Daemon:
    kubeconfig = str(pki.kubeconfig_path("controller-manager"))
    return Daemon(
        "kube-controller-manager",
        (
            str(layout.binary("kube-controller-manager")),
            "--kubeconfig", kubeconfig,
            "--authentication-kubeconfig", kubeconfig,
            "--authorization-kubeconfig", kubeconfig,
            "--bind-address", "127.0.0.1",
            "--service-account-private-key-file", str(pki.path("sa", "key")),
            "--root-ca-file", str(pki.path("ca")),
            "--cluster-signing-cert-file", str(pki.path("ca")),
            "--cluster-signing-key-file", str(pki.path("ca", "key")),
            "--use-service-account-credentials=true",
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--cluster-cidr", POD_CIDR,
            "--allocate-node-cidrs=false",
            "--leader-elect=false",
            "--profiling=false",
        ),
        health_url="https://127.0.0.1:10257/healthz",
    )  # fmt: skip


def scheduler(layout: Layout, pki: Pki) -> Daemon:
    kubeconfig = str(pki.kubeconfig_path("scheduler"))
    return Daemon(
        "kube-scheduler",
        (
            str(layout.binary("kube-scheduler")),
            "--kubeconfig", kubeconfig,
            "--authentication-kubeconfig", kubeconfig,
            "--authorization-kubeconfig", kubeconfig,
            "--bind-address", "127.0.0.1",
            "--leader-elect=false",
            "--profiling=false",
        ),
        health_url="https://127.0.0.1:10259/healthz",
    )  # fmt: skip


def cri_dockerd(layout: Layout) -> Daemon:
    return Daemon(
        "cri-dockerd",
        (
            str(layout.binary("cri-dockerd")),
            "--container-runtime-endpoint", f"unix://{layout.cri_socket}",
            "--docker-endpoint", f"unix://{DOCKER_SOCKET}",
            "--cri-dockerd-root-directory", str(layout.state / "cri-dockerd"),
            "--network-plugin", "cni",
            "--cni-bin-dir", CNI_BIN_DIR,
            "--cni-conf-dir", str(layout.cni_conf),
            "--cni-cache-dir", str(layout.state / "cni" / "cache"),
            "--pod-infra-container-image", PAUSE_IMAGE,
            "--hairpin-mode", "hairpin-veth",
            "--streaming-bind-addr", "127.0.0.1:0",
        ),
        socket=layout.cri_socket,
    )  # fmt: skip


def kubelet(layout: Layout, pki: Pki) -> Daemon:
    return Daemon(
        "kubelet",
        (
            str(layout.binary("kubelet")),
            "--config", str(layout.config / "kubelet.yaml"),
            "--kubeconfig", str(pki.kubeconfig_path("kubelet")),
            "--hostname-override", NODE_NAME,
            "--node-ip", NODE_IP,
            "--root-dir", str(layout.state / "kubelet"),
        ),
        health_url="http://127.0.0.1:10248/healthz",
    )  # fmt: skip


def kube_proxy(layout: Layout) -> Daemon:
    return Daemon(
        "kube-proxy",
        (str(layout.binary("kube-proxy")), "--config", str(layout.config / "kube-proxy.yaml")),
        health_url="http://127.0.0.1:10256/healthz",
    )


def network_policies(layout: Layout, pki: Pki) -> Daemon:
    """kube-network-policies enforces NetworkPolicy, which the bridge CNI alone ignores: the first
    packet of each connection to or from a pod that a policy selects is queued (NFQUEUE) to this
    process, which accepts or drops it. Fail closed: while it is down those packets are dropped.
    Traffic the node's root processes start (kubelet probes, Traefik) is never queued, as the
    NetworkPolicy spec has node traffic always allowed."""
    metrics = f"127.0.0.1:{NETWORK_POLICY_METRICS_PORT}"
    return Daemon(
        "kube-network-policies",
        (
            str(layout.binary("kube-network-policies")),
            "--hostname-override", NODE_NAME,
            "--metrics-bind-address", metrics,
            # NRI is containerd's plugin API; pod IPs come from the API server instead.
            "--disable-nri=true",
        ),
        health_url=f"http://{metrics}/metrics",
        env={"KUBECONFIG": str(pki.kubeconfig_path("network-policies"))},
    )  # fmt: skip


def traefik(layout: Layout, pki: Pki) -> Daemon:
    """Traefik runs on the host (not in a pod) so it can bind 127.0.0.1:80 and nothing else."""
    return Daemon(
        "traefik",
        (
            str(layout.binary("traefik")),
            f"--entryPoints.web.address=127.0.0.1:{INGRESS_PORT}",
            f"--entryPoints.traefik.address=127.0.0.1:{TRAEFIK_PING_PORT}",
            "--ping=true",
            "--providers.kubernetesingress=true",
            "--providers.kubernetesingress.ingressclass=traefik",
            # Ingress status shows where it is served, for tools that wait for an address.
            "--providers.kubernetesingress.ingressendpoint.ip=127.0.0.1",
            # The chart's body-limit Middleware (a Traefik CRD) is served by this provider.
            "--providers.kubernetescrd=true",
            "--global.checkNewVersion=false",
            "--global.sendAnonymousUsage=false",
            "--log.level=INFO",
        ),
        health_url=f"http://127.0.0.1:{TRAEFIK_PING_PORT}/ping",
        env={"KUBECONFIG": str(pki.kubeconfig_path("traefik"))},
    )  # fmt: skip


def all_daemons(layout: Layout, pki: Pki) -> list[Daemon]:
    """Start order; stop in reverse."""
    return [
        etcd(layout),
        apiserver(layout, pki),
        controller_manager(layout, pki),
        scheduler(layout, pki),
        cri_dockerd(layout),
        kubelet(layout, pki),
        kube_proxy(layout),
        network_policies(layout, pki),
        traefik(layout, pki),
    ]
