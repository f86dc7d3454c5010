"""Keep the database volume across a teardown that deletes the namespace (and its claims).

A claim dies with its namespace, so before that each volume claimed in the namespace is set to
`Retain` (its own policy is remembered in an annotation); once the namespace is gone the volume
is pre-bound to its claim's name, so the next deploy's claim of that name binds to it and no
other claim can take it. `--purge-data` restores the remembered policy and lets it be reclaimed.
"""

from __future__ import annotations

import json
from typing import Any

from todo_deploy.base.kube import Kube

KEPT = "todo-deploy/kept-reclaim-policy"  # annotation: the policy before we kept the volume
# A claim uid no claim has: the volume controller then sees the volume as released.
RELEASED_UID = "00000000-0000-0000-0000-000000000000"


def _volumes_of_namespace(kube: Kube) -> list[dict[str, Any]]:
    volumes = kube.get_json("pv", step="persistent volumes", namespaced=False) or {}
    return [
        pv
        for pv in volumes.get("items", [])
        if (pv["spec"].get("claimRef") or {}).get("namespace") == kube.namespace
    ]


def _patch(kube: Kube, name: str, patch: dict[str, Any], step: str) -> None:
    kube.run(
        "patch", "pv", name, "--type", "merge", "-p", json.dumps(patch), step=step, namespaced=False
    )


def keep(kube: Kube) -> list[str]:
    """Before the namespace goes: make each volume it claims outlive the claim; their names."""
    kept = []
    for pv in _volumes_of_namespace(kube):
        annotations = pv["metadata"].get("annotations") or {}
        policy = annotations.get(KEPT, pv["spec"].get("persistentVolumeReclaimPolicy", "Delete"))
        patch = {
            "metadata": {"annotations": {KEPT: policy}},
            "spec": {"persistentVolumeReclaimPolicy": "Retain"},
        }
        _patch(kube, pv["metadata"]["name"], patch, f"keep volume {pv['metadata']['name']}")
        kept.append(pv["metadata"]["name"])
    return kept


def reserve(kube: Kube, names: list[str]) -> None:
    """After the namespace is gone: pre-bind each kept volume to its claim's name."""
    for name in names:
        patch = {"spec": {"claimRef": {"uid": None, "resourceVersion": None}}}
        _patch(kube, name, patch, f"reserve volume {name}")


def let_go(kube: Kube) -> list[str]:
    """--purge-data: give kept volumes their own policy back and let them be reclaimed."""
    released = []
    for pv in _volumes_of_namespace(kube):
        policy = (pv["metadata"].get("annotations") or {}).get(KEPT)
        if policy is None:
            continue
        patch: dict[str, Any] = {
            "metadata": {"annotations": {KEPT: None}},
            "spec": {"persistentVolumeReclaimPolicy": policy},
        }
        if pv.get("status", {}).get("phase") != "Bound":  # no claim will delete it: release it
            patch["spec"]["claimRef"] = {"uid": RELEASED_UID}
        _patch(kube, pv["metadata"]["name"], patch, f"release volume {pv['metadata']['name']}")
        released.append(pv["metadata"]["name"])
    return released
