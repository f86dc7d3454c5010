"""Name the likely cause and fix of common failures from `kubectl get pods,events -o json`.

Each rule is a small function over one pod (or the event list) returning findings; rules do
not call the cluster themselves except through the `logs` callable, so they are testable on
recorded JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Logs = Callable[[str, str], str]  # (pod, container) -> last lines of its previous run

IMAGE_PULL_REASONS = {"ErrImageNeverPull", "ImagePullBackOff", "ErrImagePull"}


@dataclass(frozen=True)
class Finding:
    subject: str  # "pod/todo-backend-5d9c-x2x (container backend)" or "ingress"
    cause: str
    fix: str
    detail: str = ""


def _statuses(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    status = pod.get("status", {})
    yield from status.get("initContainerStatuses") or []
    yield from status.get("containerStatuses") or []


def _subject(pod: dict[str, Any], container: str | None = None) -> str:
    name = f"pod/{pod['metadata']['name']}"
    return f"{name} (container {container})" if container else name


def _component(pod: dict[str, Any]) -> str:
    return pod["metadata"].get("labels", {}).get("component", "COMPONENT")


def image_not_in_cluster(pod: dict[str, Any], logs: Logs) -> list[Finding]:
    found = []
    for cs in _statuses(pod):
        waiting = cs.get("state", {}).get("waiting") or {}
        if waiting.get("reason") in IMAGE_PULL_REASONS:
            found.append(Finding(
                _subject(pod, cs["name"]),
                f"{waiting['reason']}: image {cs.get('image')} is not in the cluster's container "
                "engine (local images are never pulled from a registry)",
                "re-run `invoke deploy` so images are built in the cluster's engine (minikube: "
                "built through `minikube docker-env`; existing: loaded with kind/k3d/minikube or "
                "pushed with --registry); check the tag with `invoke status`",
                waiting.get("message", ""),
            ))  # fmt: skip
    return found


def crash_loop(pod: dict[str, Any], logs: Logs) -> list[Finding]:
    found = []
    for cs in _statuses(pod):
        waiting = cs.get("state", {}).get("waiting") or {}
        last = (cs.get("lastState") or {}).get("terminated") or {}
        if waiting.get("reason") != "CrashLoopBackOff" or last.get("reason") == "OOMKilled":
            continue
        found.append(Finding(
            _subject(pod, cs["name"]),
            f"CrashLoopBackOff: the process exits (code {last.get('exitCode', '?')}) "
            f"after {cs.get('restartCount', 0)} restarts",
            "read the log lines below; usual causes: a bad DATABASE_URL or secret, a failed "
            f"migration; then `invoke restart {_component(pod)}`",
            logs(pod["metadata"]["name"], cs["name"]),
        ))  # fmt: skip
    return found


def oom_killed(pod: dict[str, Any], logs: Logs) -> list[Finding]:
    found = []
    for cs in _statuses(pod):
        terminated = (
            (cs.get("lastState") or {}).get("terminated")
            or cs.get("state", {}).get("terminated")
            or {}
        )
        if terminated.get("reason") == "OOMKilled":
            found.append(Finding(
                _subject(pod, cs["name"]),
                "OOMKilled: the container went over its memory limit",
                "raise resources.<component>.limits.memory (and requests) in the values file, "
                "or find what grows in memory",
            ))  # fmt: skip
    return found


def unschedulable(pod: dict[str, Any], logs: Logs) -> list[Finding]:
    if pod.get("status", {}).get("phase") != "Pending":
        return []
    for cond in pod["status"].get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
            message = cond.get("message", "")
            lacking = "resources" if "Insufficient" in message else "a node that fits"
            return [Finding(
                _subject(pod),
                f"Pending: no node has {lacking}",
                "give the cluster more memory/CPU (e.g. deploy.minikube.memory_mb / cpus, then "
                "`invoke teardown --cluster --delete` and deploy) or lower resource requests",
                message,
            )]  # fmt: skip
    return []


def missing_secret(pod: dict[str, Any], logs: Logs) -> list[Finding]:
    found = []
    for cs in _statuses(pod):
        waiting = cs.get("state", {}).get("waiting") or {}
        if waiting.get("reason") == "CreateContainerConfigError" and "secret" in waiting.get(
            "message", ""
        ):
            found.append(Finding(
                _subject(pod, cs["name"]),
                "CreateContainerConfigError: a Secret or one of its keys is missing",
                "re-run `invoke deploy` (it applies the todo-secrets Secret with every key), or "
                "add the named key to the Secret",
                waiting["message"],
            ))  # fmt: skip
    return found


POD_RULES = (image_not_in_cluster, crash_loop, oom_killed, unschedulable, missing_secret)


def pod_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def probe_failures(events: list[dict[str, Any]], unready: set[str]) -> list[Finding]:
    # Probes fail while any pod starts; only a pod that is still not Ready has a problem.
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        pod = event["involvedObject"]["name"]
        failed = event.get("reason") == "Unhealthy" and "probe failed" in event.get("message", "")
        if failed and pod in unready:
            latest[pod] = event
    return [
        Finding(
            f"pod/{pod}",
            "probe failing: " + event["message"].split(":")[0],
            "the endpoint in docs/contract.md does not answer in time: check the logs "
            "(`invoke logs`) and, for /ready, the database and migrations",
            event["message"],
        )
        for pod, event in latest.items()
    ]


def ingress_webhook(events: list[dict[str, Any]], unready: set[str]) -> list[Finding]:
    for event in events:
        message = event.get("message", "")
        if "failed calling webhook" in message and "ingress" in message:
            return [Finding(
                "ingress",
                "the ingress controller's admission webhook was not ready when the Ingress was "
                "created",
                "wait for the ingress controller (`kubectl -n ingress-nginx rollout status "
                "deployment/ingress-nginx-controller`) and re-run `invoke deploy`",
                message,
            )]  # fmt: skip
    return []


EVENT_RULES = (probe_failures, ingress_webhook)


def diagnose(pods: dict[str, Any], events: dict[str, Any], logs: Logs) -> list[Finding]:
    items = pods.get("items", [])
    findings = [f for pod in items for rule in POD_RULES for f in rule(pod, logs)]
    unready = {pod["metadata"]["name"] for pod in items if not pod_ready(pod)}
    findings += [f for rule in EVENT_RULES for f in rule(events.get("items", []), unready)]
    return findings
