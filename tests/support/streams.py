"""Fake long-lived processes for `Runner.spawn`: each argv gets scripted lines."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from todo_deploy.base.run import SpawnSpec

Script = Callable[[tuple[str, ...]], Iterable[str] | None]


@dataclass
class FakeStream:
    """Yields its lines, then (when `hold`) blocks like a live process until stopped; then it
    has exited with `returncode`."""

    output: Iterable[str]
    hold: bool = False
    returncode: int = 0
    pid: int | None = None
    stopped: threading.Event = field(default_factory=threading.Event)

    def lines(self) -> Iterator[str]:
        for line in self.output:
            if self.stopped.is_set():
                return
            yield line
        if self.hold:
            self.stopped.wait(10)

    def poll(self) -> int | None:
        return self.returncode if self.stopped.is_set() or not self.hold else None

    def wait(self, timeout: float | None = None) -> int:
        if self.hold and not self.stopped.wait(10 if timeout is None else timeout):
            raise subprocess.TimeoutExpired("fake", timeout or 10)
        return self.returncode

    def terminate(self) -> None:
        self.stopped.set()

    def stop(self, grace: float = 5) -> None:
        self.stopped.set()


@dataclass
class FakeSpawner:
    """Answers each spawned argv from `script` (None: an empty, finished stream)."""

    script: Script
    hold: bool = False
    calls: list[tuple[str, ...]] = field(default_factory=list)
    streams: list[FakeStream] = field(default_factory=list)

    def __call__(self, spec: SpawnSpec) -> FakeStream:
        self.calls.append(spec.argv)
        stream = FakeStream(self.script(spec.argv) or (), hold=self.hold)
        self.streams.append(stream)
        return stream


def pod(name: str, component: str, *, running: Sequence[str] = (), waiting: Sequence[str] = (),
        restarts: int = 0, init_done: Sequence[str] = ()) -> dict[str, Any]:  # fmt: skip
    def status(c: str, state: dict[str, Any]) -> dict[str, Any]:
        return {"name": c, "restartCount": restarts, "state": state}

    return {
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/component": component}},
        "status": {
            "initContainerStatuses": [
                status(c, {"terminated": {"exitCode": 0}}) for c in init_done
            ],
            "containerStatuses": [status(c, {"running": {}}) for c in running]
            + [status(c, {"waiting": {"reason": "ContainerCreating"}}) for c in waiting],
        },
    }


def event_lines(kind: str, obj: dict[str, Any]) -> list[str]:
    """One event of `kubectl get --watch --output-watch-events -o json`."""
    return json.dumps({"type": kind, "object": obj}, indent=4).splitlines()


def watch_lines(*pods: dict[str, Any]) -> list[str]:
    """As `kubectl get --watch -o json` prints them: indented, one object after another."""
    return [line for p in pods for line in json.dumps(p, indent=4).splitlines()]
