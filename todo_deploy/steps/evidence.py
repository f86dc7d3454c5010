"""Why a release's new pods did not become ready, said before helm's rollback erases it.

`helm upgrade --rollback-on-failure --wait` gives up naming only the workload, then rolls back,
and the rollback deletes the failing pods together with their logs. So while the release runs,
`Watch` polls the namespace's pods and keeps each troubled container's state and last output;
on a failure it adds the Warning events since the release began (they outlive the pods:
BackOff, Unhealthy with the probe's message, failed pulls) and builds one error block.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from todo_deploy.base.kube import Kube
from todo_deploy.base.run import CommandError
from todo_deploy.steps.failures import KIND_ORDER, Trouble, fix, troubles

POLL_SECONDS = 5.0
KUBECTL_SECONDS = 20  # each poll's kubectl call: a hung API server must not hang the deploy
LOG_LINES = 20
EVENT_LINES = 5
EVENT_CHARS = 240
CLOCK_SLACK = timedelta(seconds=10)  # the cluster's clock may run a little behind ours
# Helm 4's wait error: "resource Deployment/NAMESPACE/NAME not ready. status: ..."
NOT_READY = re.compile(r"resource (\w+)/[^/\s]+/(\S+) not ready")
TIMED_OUT = ("context deadline exceeded", "timed out waiting for the condition")


def _when(event: dict[str, Any]) -> datetime | None:
    series = event.get("series") or {}
    stamp = (
        event.get("lastTimestamp")
        or series.get("lastObservedTime")
        or event.get("eventTime")
        or event["metadata"].get("creationTimestamp")
    )
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def warnings(events: dict[str, Any], since: datetime, pods: tuple[str, ...]) -> list[str]:
    """Warning events since `since` about pods whose names start with one of `pods`.

    Newest last, repeats merged. Pass pod names, or "<workload name>-" for all its pods.
    """
    seen: dict[str, tuple[datetime, int, str]] = {}
    for event in events.get("items", []):
        when = _when(event)
        involved = event.get("involvedObject", {})
        if event.get("type") != "Warning" or when is None or when < since - CLOCK_SLACK:
            continue
        pod = involved.get("name", "")
        if involved.get("kind") != "Pod" or not pod.startswith(pods):
            continue
        message = " ".join(event.get("message", "").split()).replace(pod, "POD")  # one line
        key = f"{event.get('reason')}: {message}"
        count = event.get("count") or (event.get("series") or {}).get("count") or 1
        earlier = seen.get(key, (when, 0, pod))
        seen[key] = (max(when, earlier[0]), earlier[1] + count, pod)
    newest = sorted(seen.items(), key=lambda item: item[1][0])[-EVENT_LINES:]
    return [
        f"pod/{pod} {key.replace('POD', pod)}"[:EVENT_CHARS] + (f" (x{n})" if n > 1 else "")
        for key, (_, n, pod) in newest
    ]


def failed_workloads(helm_output: str) -> list[str]:
    names = [f"{kind.lower()}/{name}" for kind, name in NOT_READY.findall(helm_output)]
    return list(dict.fromkeys(names))


class RolloutError(CommandError):
    """A release whose new pods did not become ready: the evidence, then the command's block."""

    def __init__(self, cause: CommandError, evidence: str):
        self.evidence = evidence
        super().__init__(cause.step, cause.result, cause.masked_command, cause.masked_tail)

    def block(self) -> str:
        return f"{self.evidence}\n{super().block()}"


@dataclass
class Watch:
    """Polls the namespace's pods in a thread while a release runs; explains its failure."""

    kube: Kube
    poll_seconds: float = POLL_SECONDS
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    found: dict[tuple[str, str], Trouble] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        # Polls are not echoed even with --verbose, nor shown live: they would bury the
        # release's own lines.
        quiet = dataclasses.replace(self.kube.runner, echo=False, listener=None)
        self.kube = dataclasses.replace(self.kube, runner=quiet)

    def __enter__(self) -> Watch:
        if not self.kube.runner.dry_run:
            self._thread = threading.Thread(target=self._loop, name="release-watch", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # no join: a poll in flight ends within its own timeout

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception:  # evidence is best effort: it must never break or stop a deploy
                continue

    def poll(self) -> None:
        """Record each troubled container; read its output again whenever it restarted.

        A container seen fine again is forgotten; a pod gone or being deleted is remembered as
        last seen (that is the point: the rollback deletes the failing pods).
        """
        listing = self.kube.get_json("pods", step="watch the new pods") or {}
        with self._lock:
            for pod in listing.get("items", []):
                if pod["metadata"].get("deletionTimestamp"):
                    continue  # its deletion stops its containers (exit 137): nothing new
                current = troubles(pod)
                keys = {(t.pod, t.container) for t in current}
                for key in [k for k in self.found if k[0] == pod["metadata"]["name"]]:
                    if key not in keys:
                        del self.found[key]
                for trouble in current:
                    self.found[(trouble.pod, trouble.container)] = self._with_output(trouble)

    def _with_output(self, trouble: Trouble) -> Trouble:
        known = self.found.get((trouble.pod, trouble.container))
        if known and known.restarts == trouble.restarts:
            return dataclasses.replace(trouble, output=known.output)
        if trouble.log_flags is None:
            return trouble
        result = self.kube.run(
            "logs", trouble.pod, "-c", trouble.container, *trouble.log_flags,
            f"--tail={LOG_LINES}", step="container output", check=False, mutating=False,
            timeout=KUBECTL_SECONDS,
        )  # fmt: skip
        return dataclasses.replace(trouble, output=result.stdout.strip() if result.ok else "")

    def explain(self, failure: CommandError, outcome: Callable[[], str]) -> CommandError:
        """`failure` with the evidence when the new pods did not become ready; else unchanged.

        `outcome` says what became of the release (e.g. "rolled back to revision 3").
        """
        self._stop.set()
        helm_output = f"{failure.result.stdout}\n{failure.result.stderr}"
        named = failed_workloads(helm_output)
        if failure.step.startswith("rollout "):  # kube.rollout_status of --method kubectl
            named = [failure.step.removeprefix("rollout ")]
        if not named and not any(t in helm_output for t in TIMED_OUT):
            return failure
        try:
            self.poll()  # without helm's rollback (--method kubectl) the failing pods stay
            events = self.kube.get_json("events", step="warning events") or {}
        except ValueError:  # unparsable JSON: explain with what the polls saw
            events = {}
        try:
            became = outcome()
        except ValueError:
            became = "what became of the release is unknown: see `helm history`"
        with self._lock:
            text = self._block(named, events, became)
        return RolloutError(failure, self.kube.runner.mask(text))

    def _block(self, named: list[str], events: dict[str, Any], outcome: str) -> str:
        by_workload: dict[str, list[Trouble]] = {}
        for trouble in self.found.values():
            by_workload.setdefault(trouble.workload, []).append(trouble)
        workloads = named or sorted(by_workload) or ["the release"]
        worst = {w: _worst(by_workload.get(w, [])) for w in workloads}
        seen = tuple(sorted({t.pod for t in self.found.values()}))
        warned = warnings(events, self.since, seen or tuple(f"{w.split('/')[-1]}-" for w in named))
        lines = [
            f"deploy failed: the new version of {w} did not become ready: "
            + (_headline(t, warned) if t else _from_events(w, warned))
            for w, t in worst.items()
        ]
        shown = next((t for t in worst.values() if t and t.output), None)
        if shown:
            lines.append(f"  last output of pod/{shown.pod}, container {shown.container}:")
            lines += [f"    {line}" for line in shown.output.splitlines()[-LOG_LINES:]]
        if warned:
            lines.append("  warnings since the release began:")
            lines += [f"    {line}" for line in warned]
        lines.append(f"  {outcome}")
        first = next((t for t in worst.values() if t), None)
        kind = first.kind if first else _kind_from_events(warned)
        lines.append(f"  fix: {fix(kind, first.component) if first else fix(kind)}")
        return "\n".join(lines)


def _worst(found: list[Trouble]) -> Trouble | None:
    return min(found, key=lambda t: (KIND_ORDER.index(t.kind), not t.output), default=None)


def _headline(trouble: Trouble, warned: list[str]) -> str:
    said = f"container {trouble.container}: {trouble.state}"
    probe = f"pod/{trouble.pod} Unhealthy: "  # the probe's message says why it is not Ready
    failed = [line.removeprefix(probe) for line in warned if line.startswith(probe)]
    return f"{said}: {failed[-1]}" if trouble.kind == "unready" and failed else said


def _from_events(workload: str, warned: list[str]) -> str:
    prefix = f"pod/{workload.split('/', 1)[-1]}-"
    about = [line for line in warned if line.startswith(prefix)]
    return about[-1] if about else "no pod state or warning event says why"


def _kind_from_events(warned: list[str]) -> str:
    text = "\n".join(warned)
    if "probe failed" in text:
        return "unready"
    if "FailedScheduling" in text:
        return "unschedulable"
    if "pulling image" in text or "ErrImage" in text:
        return "image"
    if "restarting failed container" in text:
        return "crash"
    return "unknown"
