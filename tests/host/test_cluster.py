"""Acceptance of the host cluster: node, DNS, Services, Ingress and self-healing, for real."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from todo_deploy.base.debian import ensure_packages
from todo_deploy.base.kube import wait_until
from todo_deploy.providers.host import HostClusterError, HostProvider, build
from todo_deploy.providers.host.images import image_exists, import_scratch_image
from todo_deploy.providers.host.layout import Layout

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(3600)]

NAMESPACE = "host-test"
IMAGE = "todo-host-test/busybox:2"
BUSYBOX = Path("/bin/busybox")
PAGE = "hello from a locally built image\n"
# Under its own path: the app's Ingress may serve todo.local "/" on the same cluster, and the
# longer (more specific) rule wins in Traefik.
INGRESS_PATH = "/host-test/"


def kubectl(host: HostProvider, *args: str, stdin: str | None = None, check: bool = True):
    argv = host.kube.argv("-n", NAMESPACE, *args, namespaced=False)
    result = subprocess.run(argv, input=stdin, text=True, capture_output=True, timeout=300)
    if check:
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result


def apply(host: HostProvider, *objects: dict) -> None:
    manifest = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    kubectl(host, "apply", "-f", "-", stdin=json.dumps(manifest))


def _busybox_pod_spec(command: list[str]) -> dict:
    return {
        "containers": [
            {
                "name": "main",
                "image": IMAGE,
                "imagePullPolicy": "Never",
                "command": ["/bin/busybox", *command],
            }
        ],
        "terminationGracePeriodSeconds": 1,
    }


@pytest.fixture(scope="module")
def workload(host: HostProvider):
    """A web Deployment (local image), its Service and Ingress, and a client pod."""
    if not image_exists(host.runner, IMAGE):
        # The static build (the plain `busybox` package is dynamic and cannot run FROM scratch).
        ensure_packages(host.runner, {"/usr/share/doc/busybox-static": "busybox-static"})
        with tempfile.TemporaryDirectory() as tmp:
            page = Path(tmp) / "index.html"
            page.write_text(PAGE)
            files = {
                "/bin/busybox": BUSYBOX,
                "/www/index.html": page,
                f"/www{INGRESS_PATH}index.html": page,
            }
            import_scratch_image(host.runner, IMAGE, files, ["/bin/busybox"])
    # A clean namespace: a previous run's may still be terminating.
    kubectl(host, "delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=120s")
    kubectl(host, "create", "namespace", NAMESPACE)
    labels = {"app": "web"}
    apply(
        host,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": _busybox_pod_spec(["httpd", "-f", "-p", "8080", "-h", "/www"]),
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web"},
            "spec": {
                "ingressClassName": host.planned().ingress_class,
                "rules": [
                    {
                        "host": host.ingress(host.config.ingress_host).host,
                        "http": {
                            "paths": [
                                {
                                    "path": INGRESS_PATH.rstrip("/"),
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "client"},
            "spec": _busybox_pod_spec(["sleep", "3600"]),
        },
    )
    kubectl(host, "rollout", "status", "deployment/web", "--timeout=120s")
    kubectl(host, "wait", "--for=condition=Ready", "pod/client", "--timeout=120s")
    yield
    kubectl(host, "delete", "namespace", NAMESPACE, "--timeout=120s", check=False)


def test_node_is_ready(host: HostProvider):
    status = host.status()
    assert status.components["node"] == "ok", status
    assert status.running, status


def test_kubernetes_default_resolves_from_a_pod(host: HostProvider, workload):
    fqdn = "kubernetes.default.svc.cluster.local"
    result = kubectl(host, "exec", "client", "--", "/bin/busybox", "nslookup", fqdn)
    assert "10.96.0.1" in result.stdout, result.stdout + result.stderr
    # The short name goes through the pod's search path: busybox nslookup ignores it, the
    # libc resolver behind nc does not. The API server answers plain HTTP with a 400.
    reply = kubectl(
        host, "exec", "-i", "client", "--", "/bin/busybox", "nc", "-w", "5",
        "kubernetes.default", "443", stdin="GET / HTTP/1.0\r\n\r\n",
    )  # fmt: skip
    assert reply.stdout.startswith("HTTP/1.0 400"), reply.stdout + reply.stderr


def _get_from_client(host: HostProvider, server: str) -> str:
    # busybox-static's wget segfaults (Debian 12), so speak HTTP/1.0 through nc.
    request = f"GET / HTTP/1.0\r\nHost: {server}\r\n\r\n"
    argv = ["exec", "-i", "client", "--", "/bin/busybox", "nc", "-w", "5", server, "80"]
    return kubectl(host, *argv, stdin=request, check=False).stdout


def test_service_reaches_a_locally_built_image_from_another_pod(host: HostProvider, workload):
    server = f"web.{NAMESPACE}.svc.cluster.local"
    replies: list[str] = []

    def answered() -> bool:
        replies.append(_get_from_client(host, server))
        return replies[-1].endswith(PAGE)

    # A fresh Service may take a moment to reach kube-proxy's rules.
    assert wait_until(answered, timeout=30, interval=1), replies[-1]
    assert replies[-1].splitlines()[0].endswith(" 200 OK")


def _through_ingress(host: HostProvider) -> str:
    access = host.ingress(host.config.ingress_host)
    request = urllib.request.Request(access.url + INGRESS_PATH, headers={"Host": access.host})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=5) as response:
        return response.read().decode()


def test_ingress_routes_todo_local_from_the_host(host: HostProvider, workload):
    def answers() -> bool:
        try:
            return _through_ingress(host) == PAGE
        except OSError:
            return False

    assert wait_until(answers, timeout=60, interval=1), "no page through 127.0.0.1 + Host header"


def test_a_deleted_pod_comes_back(host: HostProvider, workload):
    before = kubectl(host, "get", "pods", "-l", "app=web", "-o", "name").stdout.split()
    kubectl(host, "delete", *before, "--wait=false")

    def replaced() -> bool:
        names = kubectl(host, "get", "pods", "-l", "app=web", "-o", "name").stdout.split()
        return bool(names) and not set(names) & set(before)

    assert wait_until(replaced, timeout=60, interval=1)
    kubectl(host, "rollout", "status", "deployment/web", "--timeout=120s")
    assert wait_until(lambda: _page_or_none(host) == PAGE, timeout=30, interval=1)


def _page_or_none(host: HostProvider) -> str | None:
    try:
        return _through_ingress(host)
    except OSError:
        return None


def test_network_policies_are_enforced(host: HostProvider, workload):
    """kube-network-policies drops what a policy does not allow; node traffic (the host's
    Traefik) stays allowed, as NetworkPolicy's rules require."""
    server = f"web.{NAMESPACE}.svc.cluster.local"
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web-from-allowed"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "allowed"}}}]}],
        },
    }
    apply(host, policy)
    try:
        refused = wait_until(lambda: _get_from_client(host, server) == "", timeout=30, interval=1)
        assert refused, "the client still reaches web: NetworkPolicy is not enforced"
        assert _page_or_none(host) == PAGE, "the node's ingress lost web under the policy"
        kubectl(host, "label", "pod", "client", "role=allowed")
        admitted = wait_until(
            lambda: _get_from_client(host, server).endswith(PAGE), timeout=30, interval=1
        )
        assert admitted, "a client the policy allows is still refused"
    finally:
        kubectl(host, "delete", "networkpolicy", "web-from-allowed", check=False)
        kubectl(host, "label", "pod", "client", "role-", check=False)


def test_a_claim_of_the_default_class_is_writable_by_a_non_root_pod(host: HostProvider, workload):
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    spec = _busybox_pod_spec(["sh", "-c", "echo kept > /data/file && exec /bin/busybox sleep 3600"])
    spec["securityContext"] = {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001}
    spec["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    writer = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "writer"}, "spec": spec}
    apply(host, claim, writer)
    kubectl(host, "wait", "--for=condition=Ready", "pod/writer", "--timeout=120s")
    result = kubectl(host, "exec", "writer", "--", "/bin/busybox", "cat", "/data/file")
    assert result.stdout == "kept\n"
    bound = kubectl(host, "get", "pvc", "data", "-o", "jsonpath={.status.phase}").stdout
    assert bound == "Bound"


def test_a_second_cluster_is_refused_before_anything_starts(host: HostProvider, tmp_path):
    # Another state directory: none of its daemons runs, yet the running cluster holds the ports.
    other = HostProvider(
        host.config, host.runner, Layout(state=tmp_path / "state", cache=host.layout.cache)
    )
    with pytest.raises(HostClusterError) as refused:
        other.up()
    for port in (6443, 2379, 10250, 80):
        assert f"TCP port {port} is in use" in str(refused.value)
    assert not (tmp_path / "state").exists()


def test_down_then_warm_up(host: HostProvider, workload, figures):
    recorded = build.build_seconds(host.layout)
    for component, seconds in recorded.items():
        figures[f"cold build {component}"] = seconds
    started = time.monotonic()
    host.down()
    figures["down"] = time.monotonic() - started
    assert not host.status().running
    assert not Path("/sys/class/net/todo0").exists()
    for address in ("10.96.0.10", "10.88.0.1"):  # stopped: cluster ranges must not leave
        route = subprocess.run(["ip", "route", "get", address], capture_output=True, text=True)
        assert route.returncode != 0 or "unreachable" in route.stdout, route.stdout
    started = time.monotonic()
    host.up()
    figures["warm up"] = time.monotonic() - started
    assert host.status().running
    # The workload lives in etcd: after a restart the kubelet brings it back by itself.
    assert wait_until(lambda: _page_or_none(host) == PAGE, timeout=120, interval=1)
