"""Name the likely cause and fix of common failures from `kubectl get pods,events -o json`.

Each rule is a small function over one pod (or the event list) returning findings; rules do
not call the cluster themselves except through the `logs` callable, so they are testable on
recorded JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from todo_deploy.steps.failures import Trouble, fix, pod_ready, troubles

Logs = Callable[[str, str], str]  # (pod, container) -> last lines of its previous run


@dataclass(frozen=True)
class Finding:
    subject: str  # "pod/NAME (container backend)" or "ingress"
    cause: str
    fix: str
    detail: str = ""


def _subject(pod: dict[str, Any], container: str | None = None) -> str:
    name = f"pod/{pod['metadata']['name']}"
    return f"{name} (container {container})" if container else name


def _cause(trouble: Trouble) -> str:
    reason = trouble.state.split(",")[0]
    return {
        "image": f"{reason}: image {trouble.image} is not in the cluster's container engine",
        "crash": f"{trouble.state}: the process exits",
        "oom": f"OOMKilled: the container went over its memory limit ({trouble.state})",
        "config": "CreateContainerConfigError: a Secret or one of its keys is missing",
    }[trouble.kind]


def failing_containers(pod: dict[str, Any], logs: Logs) -> list[Finding]:
    """Containers the shared classifier finds in trouble (a running but unready one is left to
    probe_failures, whose event says which probe fails)."""
    found = []
    for t in troubles(pod):
        if t.kind == "unready":
            continue
        detail = logs(t.pod, t.container) if t.kind == "crash" else t.message
        found.append(
            Finding(_subject(pod, t.container), _cause(t), fix(t.kind, t.component), detail)
        )
    return found


def unschedulable(pod: dict[str, Any], logs: Logs) -> list[Finding]:
    if pod.get("status", {}).get("phase") != "Pending":
        return []
    for cond in pod["status"].get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
            message = cond.get("message", "")
            lacking = "resources" if "Insufficient" in message else "a node that fits"
            return [
                Finding(
                    _subject(pod),
                    f"Pending: no node has {lacking}",
                    fix("unschedulable"),
                    message,
                )
            ]
    return []


POD_RULES = (failing_containers, unschedulable)


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
            fix("unready"),
            event["message"],
        )
        for pod, event in latest.items()
    ]


def ingress_webhook(events: list[dict[str, Any]], unready: set[str]) -> list[Finding]:
    for event in events:
        message = event.get("message", "")
        if "failed calling webhook" in message and "ingress" in message:
            return [
                Finding(
                    "ingress",
                    "the ingress controller's admission webhook was not ready when the Ingress was "
                    "created",
                    "wait for the ingress controller (`kubectl -n ingress-nginx rollout status "
                    "deployment/ingress-nginx-controller`) and re-run `invoke deploy`",
                    message,
                )
            ]
    return []


EVENT_RULES = (probe_failures, ingress_webhook)


def diagnose(pods: dict[str, Any], events: dict[str, Any], logs: Logs) -> list[Finding]:
    items = pods.get("items", [])
    findings = [f for pod in items for rule in POD_RULES for f in rule(pod, logs)]
    unready = {pod["metadata"]["name"] for pod in items if not pod_ready(pod)}
    findings += [f for rule in EVENT_RULES for f in rule(events.get("items", []), unready)]
    return findings
