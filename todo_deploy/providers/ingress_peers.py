"""Who the chart's front-end and back-end NetworkPolicies admit as the ingress controller.

The chart admits the app's own pods plus `networkPolicy.ingressControllerPeers` (NetworkPolicy
peers). Each provider knows where its controller runs and says so in `ClusterFacts.ingress_peers`:
a namespace and the controller's pod labels, or nothing at all for a controller that runs on
the node itself (NetworkPolicy always admits traffic from a pod's own node). None leaves the
chart's default (ingress-nginx's namespace).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from todo_deploy.base.kube import Kube

Peers = tuple[dict[str, Any], ...]

NODE_ONLY: Peers = ()
# IngressClass spec.controller -> the app.kubernetes.io/name label of that controller's pods.
CONTROLLER_POD_NAMES = {
    "traefik.io/ingress-controller": "traefik",
    "k8s.io/ingress-nginx": "ingress-nginx",
}
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace


def in_namespace(namespace: str, pod_labels: Mapping[str, str]) -> Peers:
    """The controller's pods (both selectors: a peer matches only where both do)."""
    return (
        {
            "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}},
            "podSelector": {"matchLabels": dict(pod_labels)},
        },
    )


def find(kube: Kube, classes: dict[str, Any] | None, ingress_class: str) -> Peers | None:
    """The peers of the controller serving `ingress_class` (one of `classes`, the cluster's
    IngressClass list), from its running pods; None when they cannot be told (an unknown
    controller, or no pod found)."""
    items = (classes or {}).get("items", [])
    found: dict[str, Any] = next((i for i in items if i["metadata"]["name"] == ingress_class), {})
    controller = (found.get("spec") or {}).get("controller", "")
    name = CONTROLLER_POD_NAMES.get(controller)
    if not name:
        return None
    pods = kube.get_json(
        "pods", "--all-namespaces", "-l", f"app.kubernetes.io/name={name}",
        step="ingress controller pods", namespaced=False,
    )  # fmt: skip
    namespaces = {p["metadata"]["namespace"] for p in (pods or {}).get("items", [])}
    if len(namespaces) != 1:
        return None  # none, or several controllers of one kind: not ours to choose
    return in_namespace(namespaces.pop(), {"app.kubernetes.io/name": name})


def unknown_note(ingress_class: str) -> str:
    return (
        f"the pods of the ingress controller serving class {ingress_class} were not found, so "
        "the app's NetworkPolicies admit the chart's default (namespace ingress-nginx): if the "
        "app does not answer through the ingress, set networkPolicy.ingressControllerPeers in "
        "a values file (`invoke deploy --values FILE`) to your controller's namespace"
    )
