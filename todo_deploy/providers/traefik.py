"""Traefik as an in-cluster ingress controller (class `traefik`), for clusters that have none.

The same Traefik version, IngressClass and RBAC rules as the host provider's Traefik, which runs
as a node process instead. Here it is a pod on the node labelled `ingress-ready=true`, holding
the node's ports 80 and 443 (hostPort), which kind maps to the host's loopback. The kind and
minikube providers install it with `install()`.
"""

from __future__ import annotations

from dataclasses import replace

from todo_deploy.base.kube import Kube
from todo_deploy.providers import ingress_peers
from todo_deploy.providers.host.addons import (
    INGRESS_CLASS,
    TRAEFIK_INGRESS_CLASS,
    TRAEFIK_RULES,
    _binding,
    _cluster_role,
)
from todo_deploy.providers.host.layout import TRAEFIK_VERSION

NAMESPACE = "traefik"
NAME = "traefik"
IMAGE = f"traefik:{TRAEFIK_VERSION}"  # the upstream image of the version the host builds
WORKLOAD = f"deployment/{NAME}"
PING_PORT = 9000
# Unprivileged container ports; the node's 80/443 reach them through hostPort.
CONTAINER_PORTS = {"web": (8000, 80), "websecure": (8443, 443)}
LABELS = {"app.kubernetes.io/name": NAME}
PEERS = ingress_peers.in_namespace(NAMESPACE, LABELS)  # what the app's policies admit


def serves_middlewares(kube: Kube, ingress_class: str) -> bool:
    """The class is Traefik's and the cluster knows Traefik's CRDs (k3d's and k3s's bundled
    Traefik serves them): the chart's body-limit Middleware will be used."""
    if ingress_class != INGRESS_CLASS:
        return False
    versions = kube.run(
        "api-versions", step="API groups", namespaced=False, check=False, mutating=False
    )
    return versions.ok and "traefik.io/v1alpha1" in versions.stdout.split()


def install(kube: Kube, timeout: int) -> None:
    """Apply Traefik's objects and wait until it is rolled out (`kube`: any namespace)."""
    kube.apply({"apiVersion": "v1", "kind": "List", "items": objects()}, step="install Traefik")
    replace(kube, namespace=NAMESPACE).rollout_status(WORKLOAD, timeout)


def objects() -> list[dict]:
    meta = {"name": NAME, "namespace": NAMESPACE}
    service_account = {"kind": "ServiceAccount", **meta}
    role = f"todo:{NAME}"
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        _cluster_role(role, TRAEFIK_RULES),
        _binding(role, service_account),
        TRAEFIK_INGRESS_CLASS,
        _deployment(meta),
    ]


def _deployment(meta: dict) -> dict:
    args = [f"--entryPoints.{name}.address=:{port}" for name, (port, _) in CONTAINER_PORTS.items()]
    args += [
        f"--entryPoints.traefik.address=:{PING_PORT}",
        "--ping=true",
        "--providers.kubernetesingress=true",
        f"--providers.kubernetesingress.ingressclass={INGRESS_CLASS}",
    ]
    container = {
        "name": NAME,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["traefik"],
        "args": args,
        "ports": [
            {"name": name, "containerPort": port, "hostPort": host_port, "protocol": "TCP"}
            for name, (port, host_port) in CONTAINER_PORTS.items()
        ],
        "readinessProbe": {
            "httpGet": {"path": "/ping", "port": PING_PORT},
            "periodSeconds": 2,
            "failureThreshold": 3,
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = {
        "serviceAccountName": NAME,
        "nodeSelector": {"ingress-ready": "true"},
        # kind's single node is the control plane, tainted against ordinary workloads.
        "tolerations": [
            {
                "key": "node-role.kubernetes.io/control-plane",
                "operator": "Exists",
                "effect": "NoSchedule",
            }
        ],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {**meta, "labels": LABELS},
        "spec": {
            "replicas": 1,
            # Two pods cannot hold the same hostPort: the old one goes first.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": LABELS},
            "template": {"metadata": {"labels": LABELS}, "spec": pod},
        },
    }
