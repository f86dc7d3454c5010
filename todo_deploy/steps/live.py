"""What a long step shows while it runs: a spinner, the time taken and left, its last lines.

The Runner hands every output line (already masked) to the step's listener: on a terminal the
last lines sit under a spinner with the elapsed time and an ETA from the last run of the same
step; with `-v` every line is printed as it comes. During the release, rollout progress per
workload (ready/desired and its latest event) is polled and shown too. Timings are kept in the
suite's state folder, per provider and step.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from todo_deploy.base.kube import Kube
from todo_deploy.base.paths import state_dir
from todo_deploy.base.run import Runner

TAIL_LINES = 6
PROGRESS_POLL_SECONDS = 2.0


@dataclass
class Timings:
    """The last successful duration of each step, kept between runs."""

    path: Path
    seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Timings:
        path = path or state_dir("timings.json")
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        return cls(path, {k: float(v) for k, v in data.items() if isinstance(v, int | float)})

    def record(self, key: str, seconds: float) -> None:
        self.seconds[key] = round(seconds, 1)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.seconds, indent=1, sort_keys=True))
        except OSError:
            pass  # a read-only state folder costs the next run its ETA, nothing more


def eta_text(elapsed: float, last: float | None) -> str:
    if last is None:
        return f"{elapsed:.0f} s"
    left = last - elapsed
    if left > 0:
        return f"{elapsed:.0f} s, about {left:.0f} s left (last run {last:.0f} s)"
    return f"{elapsed:.0f} s (last run took {last:.0f} s)"


@dataclass
class RolloutProgress:
    """Polls the namespace's workloads and events: `lines()` is one line per workload."""

    kube: Kube
    poll_seconds: float = PROGRESS_POLL_SECONDS
    since: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    _lines: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        # Its reads must neither echo nor feed the step's live lines.
        quiet = dataclasses.replace(self.kube.runner, echo=False, listener=None)
        self.kube = dataclasses.replace(self.kube, runner=quiet)

    def start(self) -> None:
        threading.Thread(target=self._loop, name="rollout-progress", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def lines(self) -> list[str]:
        return list(self._lines)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception:  # progress is a view: it must never break a deploy
                continue

    def poll(self) -> None:
        workloads = self.kube.get_json("deployments,statefulsets", step="rollout progress") or {}
        events = self.kube.get_json("events", step="rollout events") or {}
        self._lines = rollout_lines(workloads, events, self.since)


def rollout_lines(workloads: dict[str, Any], events: dict[str, Any], since: str = "") -> list[str]:
    """`deployment/todo-backend 1/2 ready, updated 2/2 · Pulled: ...` per workload."""
    latest = _latest_events(events, since)
    lines = []
    for item in workloads.get("items", []):
        name = item["metadata"]["name"]
        spec, status = item.get("spec", {}), item.get("status", {})
        desired = spec.get("replicas", 1)
        line = (
            f"{item['kind'].lower()}/{name} {status.get('readyReplicas', 0)}/{desired} ready, "
            f"updated {status.get('updatedReplicas', 0)}/{desired}"
        )
        if event := latest.get(name):
            line += f" · {event}"
        lines.append(line)
    return lines


def _latest_events(events: dict[str, Any], since: str) -> dict[str, str]:
    """Workload name -> its newest event since `since`, matched through its pods' names."""
    newest: dict[str, tuple[str, str]] = {}
    for event in events.get("items", []):
        stamp = event.get("lastTimestamp") or event.get("eventTime") or ""
        if since and stamp and stamp < since:
            continue
        obj = (event.get("involvedObject") or {}).get("name", "")
        text = f"{event.get('reason', '')}: {event.get('message', '')}".strip()[:120]
        # Pods are named <workload>-<hash>-<id> (Deployments) or <workload>-<n> (StatefulSets).
        for owner in {obj, obj.rsplit("-", 1)[0], obj.rsplit("-", 2)[0]}:
            if owner and stamp >= newest.get(owner, ("", ""))[0]:
                newest[owner] = (stamp, text)
    return {name: text for name, (_, text) in newest.items()}


@dataclass
class LiveStep:
    """The display of one running step; `listen` is the Runner's listener while it runs."""

    name: str
    console: Console
    last_seconds: float | None = None
    verbose: bool = False
    progress: Callable[[], list[str]] | None = None
    started: float = field(default_factory=time.monotonic)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))

    def listen(self, line: str) -> None:
        if self.verbose:
            self.console.out(f"  {line}", highlight=False)
        elif line.strip():
            self.tail.append(line)

    def render(self) -> RenderableType:
        elapsed = time.monotonic() - self.started
        header = Spinner("dots", Text(f"{self.name} ... {eta_text(elapsed, self.last_seconds)}"))
        parts: list[RenderableType] = [header]
        for line in self.progress() if self.progress else []:
            parts.append(Text(f"  {line}", style="cyan", overflow="ellipsis", no_wrap=True))
        for line in self.tail:
            parts.append(Text(f"  {line}", style="dim", overflow="ellipsis", no_wrap=True))
        return Group(*parts)


@contextmanager
def live_step(
    name: str,
    console: Console,
    runner: Runner | None,
    *,
    last_seconds: float | None = None,
    progress: RolloutProgress | None = None,
) -> Iterator[LiveStep]:
    """Show `name` running; the runner's output lines feed it until the step ends."""
    verbose = bool(runner and runner.echo)
    step = LiveStep(name, console, last_seconds, verbose, progress.lines if progress else None)
    previous = runner.listener if runner else None
    if runner and (verbose or console.is_terminal):
        runner.listener = step.listen
    if progress and console.is_terminal:
        progress.start()
    try:
        if console.is_terminal and not verbose:
            with Live(get_renderable=step.render, console=console, transient=True,
                      refresh_per_second=8):  # fmt: skip
                yield step
        else:
            yield step
    finally:
        if progress:
            progress.stop()
        if runner:
            runner.listener = previous
