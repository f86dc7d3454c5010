"""Merged, coloured logs of the app's pods, following pods created after the start.

`kubectl get pods --watch -o json` reports each pod as it changes; every container that runs
(or ran) gets one `kubectl logs -f` follower, started through the Runner so every line is masked.
A restarted container gets a new follower; a pod replaced by a rollout is picked up as it starts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text

from todo_deploy.base.kube import Kube
from todo_deploy.base.run import CommandError, Process

COMPONENT_LABEL = "app.kubernetes.io/component"
COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan")
REWATCH_SECONDS = 1.0  # the API server ends watches now and then; start a new one


def app_selector(release: str, components: Sequence[str]) -> str:
    """The label selector of the release's pods of `components`."""
    return f"app.kubernetes.io/instance={release},{COMPONENT_LABEL} in ({','.join(components)})"


@dataclass(frozen=True)
class Container:
    pod: str
    name: str
    component: str
    restarts: int
    init: bool = False

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.pod, self.name, self.restarts)

    @property
    def label(self) -> str:
        return f"{self.pod}/{self.name}"


def parse_watch(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Objects of `kubectl get --watch -o json`, one after another.

    kubectl prints them indented, or one per line with `--output-watch-events`: an object is
    complete when the text so far decodes, which is tried only at a line ending in `}`.
    """
    decoder = json.JSONDecoder()
    buffer = ""
    for line in lines:
        buffer += line + "\n"
        while line.rstrip().endswith("}"):
            text = buffer.lstrip()
            try:
                obj, end = decoder.raw_decode(text)
            except json.JSONDecodeError:
                break  # not complete yet (a `}` closing an inner object or inside a string)
            yield obj
            buffer = text[end:]
            line = buffer  # more objects may follow on the same line


def containers_with_output(pod: dict[str, Any]) -> list[Container]:
    """Containers that are running or have run: the ones `kubectl logs` can read."""
    meta, status = pod.get("metadata", {}), pod.get("status", {})
    if meta.get("deletionTimestamp"):
        return []
    component = (meta.get("labels") or {}).get(COMPONENT_LABEL, "?")
    found = []
    for init, key in ((True, "initContainerStatuses"), (False, "containerStatuses")):
        for cs in status.get(key) or []:
            state = cs.get("state") or {}
            if "running" in state or "terminated" in state:
                found.append(
                    Container(meta["name"], cs["name"], component, cs.get("restartCount", 0), init)
                )
    return found


Emit = Callable[[Container, str], None]


def prefixed_printer(
    console: Console, order: Sequence[str] = ()
) -> Callable[[str, str, str], None]:
    """print(group, label, line): `label | line`, coloured by group, one line at a time."""
    lock = threading.Lock()
    colours: dict[str, str] = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(order)}

    def show(group: str, label: str, line: str) -> None:
        colour = colours.setdefault(group, COLOURS[len(colours) % len(COLOURS)])
        text = Text.assemble((f"{label} | ", colour), line)
        with lock:
            console.print(text, soft_wrap=True)

    return show


def console_emitter(console: Console, order: Sequence[str] = ()) -> Emit:
    """Prefix each line with its pod and container, coloured by component."""
    show = prefixed_printer(console, order)
    return lambda container, line: show(container.component, container.label, line)


@dataclass
class LogFollower:
    """Follow every container of the pods `selector` matches until `stop()`."""

    kube: Kube
    selector: str
    emit: Emit
    tail: int = 20
    rewatch_seconds: float = REWATCH_SECONDS
    stopping: threading.Event = field(default_factory=threading.Event)
    _streams: list[Process] = field(default_factory=list)
    _followed: set[tuple[str, str, int]] = field(default_factory=set)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _existing: set[tuple[str, str, int]] = field(default_factory=set)

    def run(self) -> None:
        """Blocks: watches the pods and starts a follower per container, until `stop()`."""
        # What ran before we started is context (the last lines); anything newer is shown whole.
        pods = self.kube.get_json("pods", "-l", self.selector, step="list pods") or {}
        self._existing = {
            c.key for pod in pods.get("items", []) for c in containers_with_output(pod)
        }
        try:
            while not self.stopping.is_set():
                watch = self._spawn(
                    "get", "pods", "-l", self.selector, "--watch", "-o", "json", step="watch pods"
                )
                for pod in parse_watch(watch.lines()):
                    if self.stopping.is_set():
                        break
                    for container in containers_with_output(pod):
                        self._follow(container)
                self.stopping.wait(self.rewatch_seconds)
        finally:
            self.stop()

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.stop()

    def join(self, timeout: float = 5) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    def _spawn(self, *args: str, step: str) -> Process:
        stream = self.kube.runner.spawn(self.kube.argv(*args), step=step, mutating=False)
        with self._lock:
            self._streams.append(stream)
        if self.stopping.is_set():
            stream.stop()
        return stream

    def _follow(self, container: Container) -> None:
        with self._lock:
            if container.key in self._followed:
                return
            self._followed.add(container.key)
        tail = self.tail if container.key in self._existing else -1
        thread = threading.Thread(
            target=self._pump, args=(container, tail), daemon=True, name=container.label
        )
        self._threads.append(thread)
        thread.start()

    def _pump(self, container: Container, tail: int) -> None:
        try:
            stream = self._spawn(
                "logs", "-f", container.pod, "-c", container.name, f"--tail={tail}",
                step=f"logs {container.label}",
            )  # fmt: skip
        except CommandError as exc:
            self.emit(container, f"(cannot follow: {exc.result.stderr.strip()})")
            return
        for line in stream.lines():
            self.emit(container, line)
