"""Cluster objects every host cluster has: CoreDNS, the `traefik` IngressClass, and RBAC for
the host processes that watch the API (Traefik, kube-network-policies)."""

from __future__ import annotations

import hashlib

from todo_deploy.providers.host.layout import CLUSTER_DOMAIN, COREDNS_IMAGE, DNS_SERVICE_IP
from todo_deploy.providers.host.pki import CLIENTS

INGRESS_CLASS = "traefik"
TRAEFIK_CONTROLLER = "traefik.io/ingress-controller"
TRAEFIK_USER = next(c.user for c in CLIENTS if c.stem == "traefik")
NETWORK_POLICY_USER = next(c.user for c in CLIENTS if c.stem == "network-policies")
DNS_LABELS = {"k8s-app": "kube-dns"}

# ttl 5 (CoreDNS's default): a Service deleted and re-created (teardown, then deploy) gets a new
# ClusterIP, and clients must not be sent to the old one for long; `cache` is capped by it.
# No `forward` plugin: names outside the cluster get NXDOMAIN from the catch-all block, so no
# pod's lookup ever leaves this machine (the network rule). The app needs only cluster names.
COREFILE = f"""{CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
    errors
    health :8080
    ready :8181
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        pods insecure
        ttl 5
    }}
    cache 30
    loadbalance
}}
. {{
    errors
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
"""


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


READ = ["get", "list", "watch"]


def default_class(api_version: str, kind: str, name: str, **fields: object) -> dict:
    """An IngressClass or StorageClass marked as the cluster's default of its kind."""
    annotation = f"{kind.lower()}.kubernetes.io/is-default-class"
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "annotations": {annotation: "true"}},
        **fields,
    }


def _cluster_role(name: str, rules: list[dict]) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
    }


def _binding(name: str, subject: dict) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [subject],
    }


def _user(name: str) -> dict:
    """A client-certificate user (CN) as an RBAC subject: the host processes have no pods."""
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}


# Traefik's own kinds, which its CRD provider watches all of (the chart uses a Middleware).
TRAEFIK_CRD_KINDS = [
    "middlewares", "middlewaretcps", "ingressroutes", "ingressroutetcps", "ingressrouteudps",
    "traefikservices", "tlsoptions", "tlsstores", "serverstransports", "serverstransporttcps",
]  # fmt: skip
# What Traefik's Kubernetes Ingress provider reads and writes, wherever Traefik runs.
TRAEFIK_RULES = [
    _rule([""], ["services", "secrets", "nodes"], READ),
    _rule(["discovery.k8s.io"], ["endpointslices"], READ),
    _rule(["networking.k8s.io"], ["ingresses", "ingressclasses"], READ),
    _rule(["networking.k8s.io"], ["ingresses/status"], ["update"]),
]
# What its CRD provider reads besides: only the host cluster's Traefik runs that provider.
TRAEFIK_CRD_RULES = [
    _rule([""], ["configmaps"], READ),
    _rule(["traefik.io"], TRAEFIK_CRD_KINDS, READ),
]
TRAEFIK_INGRESS_CLASS = default_class(
    "networking.k8s.io/v1", "IngressClass", INGRESS_CLASS, spec={"controller": TRAEFIK_CONTROLLER}
)


def traefik_objects() -> list[dict]:
    name = "todo-host:traefik"
    user = _user(TRAEFIK_USER)
    rules = [*TRAEFIK_RULES, *TRAEFIK_CRD_RULES]
    return [_cluster_role(name, rules), _binding(name, user), TRAEFIK_INGRESS_CLASS]


def network_policy_objects() -> list[dict]:
    """What kube-network-policies watches to judge each new connection (its upstream role)."""
    rules = [
        _rule([""], ["pods", "namespaces"], ["list", "watch"]),
        _rule(["networking.k8s.io"], ["networkpolicies"], ["list", "watch"]),
    ]
    user = _user(NETWORK_POLICY_USER)
    return [_cluster_role(NETWORK_POLICY_USER, rules), _binding(NETWORK_POLICY_USER, user)]


def coredns_objects() -> list[dict]:
    meta = {"name": "coredns", "namespace": "kube-system"}
    rules = [
        _rule([""], ["endpoints", "services", "pods", "namespaces"], ["list", "watch"]),
        _rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"]),
    ]
    subject = {"kind": "ServiceAccount", **meta}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        _cluster_role("system:coredns", rules),
        {**_binding("system:coredns", subject)},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"Corefile": COREFILE}},
        _coredns_deployment(meta),
        _dns_service(),
    ]


def _coredns_deployment(meta: dict) -> dict:
    digest = hashlib.sha256(COREFILE.encode()).hexdigest()[:16]
    probe = {"periodSeconds": 5, "timeoutSeconds": 2}
    container = {
        "name": "coredns",
        "image": COREDNS_IMAGE,
        "imagePullPolicy": "Never",
        "args": ["-conf", "/etc/coredns/Corefile"],
        "ports": [
            {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
        ],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, **probe},
        "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}, **probe},
        "resources": {"requests": {"cpu": "50m", "memory": "50Mi"}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {**meta, "labels": DNS_LABELS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": DNS_LABELS},
            "template": {
                # A changed Corefile rolls the pod (CoreDNS runs without the reload plugin).
                "metadata": {"labels": DNS_LABELS, "annotations": {"todo-host/corefile": digest}},
                "spec": {
                    "serviceAccountName": "coredns",
                    "dnsPolicy": "Default",
                    "priorityClassName": "system-cluster-critical",
                    "containers": [container],
                    "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
                },
            },
        },
    }


def _dns_service() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": DNS_LABELS},
        "spec": {
            "clusterIP": DNS_SERVICE_IP,
            "selector": DNS_LABELS,
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ],
        },
    }


def all_objects() -> list[dict]:
    return [*coredns_objects(), *traefik_objects(), *network_policy_objects()]


def as_list(items: list[dict]) -> dict:
    """One `kind: List` so a single `kubectl apply` creates or updates everything."""
    return {"apiVersion": "v1", "kind": "List", "items": items}
