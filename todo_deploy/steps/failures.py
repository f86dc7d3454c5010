"""Why a container keeps its pod from Ready, in one classification, with the fix for each kind.

`doctor` (what is wrong now) and `evidence` (why a release failed, said before the rollback
deletes the pods) both classify with `troubles()` and advise with `fix()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IMAGE_REASONS = {"ErrImageNeverPull", "ImagePullBackOff", "ErrImagePull", "InvalidImageName"}
STARTING = {"ContainerCreating", "PodInitializing"}  # waiting reasons that are no trouble

FIXES = {
    "crash": "the process exits at start: read its output (usual causes: a malformed value or "
    "secret, a failed migration), correct the values or the image, then run `invoke deploy` "
    "again (or `invoke restart COMPONENT` once what it needs is back)",
    "oom": "the container went over its memory limit: raise resources.<component>.limits.memory "
    "(and requests) in the values file, then run `invoke deploy` again",
    "image": "the image is not in the cluster's container engine (local images are never "
    "pulled): run `invoke deploy` again, which builds them where the cluster sees them "
    "(minikube: through `minikube docker-env`; existing: loaded with kind/k3d/minikube, or "
    "pushed with --registry); `invoke status` shows the tags",
    "config": "a Secret or ConfigMap key the pod needs is missing: run `invoke deploy` again "
    "(it applies the app's Secret with every key) or add the named key",
    "unready": "the container runs but its readiness probe fails (see the warnings): check what "
    "the endpoint in docs/contract.md needs (database, migrations) in its output",
    "unschedulable": "no node has room for the pod: give the cluster more memory/CPU (e.g. "
    "deploy.minikube.memory_mb / cpus, then `invoke teardown --cluster --delete` and deploy) or "
    "lower the resource requests in the values file",
    "unknown": "nothing in the pods or events says why: if the cluster is only slow, run "
    "`invoke deploy --timeout SECONDS` with more time",
}
# Kinds ordered by how much they explain: a crash says more than "not Ready".
KIND_ORDER = ("oom", "crash", "image", "config", "unschedulable", "unready")


@dataclass(frozen=True)
class Trouble:
    """One container of a pod that is not Ready, as last seen."""

    workload: str  # "deployment/NAME"
    pod: str
    container: str
    kind: str  # a key of FIXES
    state: str  # "CrashLoopBackOff, exit code 3 (Error), 2 restarts"
    restarts: int = 0
    log_flags: tuple[str, ...] | None = None  # kubectl logs flags; None: it has no output yet
    output: str = ""
    component: str = "COMPONENT"  # the pod's component label
    image: str = ""
    message: str = ""  # the kubelet's message for a waiting container


def workload_of(pod: dict[str, Any]) -> str:
    for owner in pod["metadata"].get("ownerReferences") or []:
        if owner["kind"] == "ReplicaSet":  # "NAME-7f9c8d5b6" -> its Deployment NAME
            return f"deployment/{owner['name'].rsplit('-', 1)[0]}"
        return f"{owner['kind'].lower()}/{owner['name']}"
    return f"pod/{pod['metadata']['name']}"


def _container_trouble(pod: dict[str, Any], cs: dict[str, Any], init: bool) -> Trouble | None:
    state = cs.get("state") or {}
    waiting = state.get("waiting") or {}
    ended = state.get("terminated") or (cs.get("lastState") or {}).get("terminated") or {}
    restarts = cs.get("restartCount", 0)
    reason = waiting.get("reason", "")
    if init and ended.get("exitCode") == 0 and not reason:
        return None  # an init container that finished its work
    if restarts and ended.get("exitCode", 0) != 0 and not reason:
        reason = "CrashLoopBackOff"  # what the kubelet reports between two restarts
    parts = [reason] if reason and reason not in STARTING else []
    if reason in IMAGE_REASONS or reason == "CreateContainerConfigError":
        parts.append(waiting.get("message", ""))
    if ended and ended.get("exitCode") != 0:
        parts.append(f"exit code {ended.get('exitCode')} ({ended.get('reason', '?')})")
    if restarts:
        parts.append(f"{restarts} restarts")
    if not parts:
        if init or "running" not in state or cs.get("ready"):
            return None
        parts.append("running but not Ready")
    if state.get("terminated"):
        flags: tuple[str, ...] | None = ()
    elif ended:
        flags = ("--previous",)
    else:
        flags = () if "running" in state else None
    labels = pod["metadata"].get("labels") or {}
    return Trouble(
        workload_of(pod),
        pod["metadata"]["name"],
        cs["name"],
        _kind(reason, ended),
        ", ".join(p for p in parts if p),
        restarts,
        flags,
        component=labels.get("component", "COMPONENT"),
        image=cs.get("image", ""),
        message=waiting.get("message", ""),
    )


def _kind(reason: str, ended: dict[str, Any]) -> str:
    if ended.get("reason") == "OOMKilled":
        return "oom"
    if reason in IMAGE_REASONS:
        return "image"
    if reason == "CreateContainerConfigError":
        return "config"
    if reason == "CrashLoopBackOff" or ended.get("exitCode", 0) != 0:
        return "crash"
    return "unready"


def troubles(pod: dict[str, Any]) -> list[Trouble]:
    """The containers that keep a pod from Ready, with what their status says."""
    if pod_ready(pod):
        return []
    status = pod.get("status", {})
    found = [_container_trouble(pod, cs, True) for cs in status.get("initContainerStatuses") or []]
    found += [_container_trouble(pod, cs, False) for cs in status.get("containerStatuses") or []]
    return [t for t in found if t]


def pod_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def fix(kind: str, component: str = "COMPONENT") -> str:
    """The fix for a kind of trouble (a key of FIXES), naming the component where it helps."""
    return FIXES[kind].replace("COMPONENT", component)
