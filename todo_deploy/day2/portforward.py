"""`kubectl port-forward` as a background process bound to a free loopback port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from todo_deploy.base.kube import Kube, wait_until
from todo_deploy.base.run import Process
from todo_deploy.day2.follow import parse_watch


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_forward_argv(kube: Kube, target: str, local: int, remote: int) -> list[str]:
    return kube.argv("port-forward", "--address", "127.0.0.1", target, f"{local}:{remote}")


@contextmanager
def port_forward(kube: Kube, target: str, remote: int, timeout: float = 20) -> Iterator[int]:
    """Yield the local port forwarding to `target`'s `remote` port; stop the process after."""
    local = free_loopback_port()
    argv = port_forward_argv(kube, target, local, remote)
    process = kube.runner.spawn(argv, step=f"port-forward {target}", mutating=False)
    output = _collect(process)
    # kubectl prints this once it listens: a request before that is refused.
    forwarding = f"Forwarding from 127.0.0.1:{local} "

    def listening() -> bool:
        return any(forwarding in line for line in output)

    try:
        wait_until(lambda: process.poll() is not None or listening(), timeout=timeout, interval=0.1)
        if process.poll() is not None or not listening():
            said = "; ".join(output)[-400:]
            raise RuntimeError(f"port-forward to {target} did not start: {said}")
        yield local
    finally:
        process.stop(grace=10)


def _collect(process: Process) -> list[str]:
    """The process's lines, gathered from a thread while it runs (the pipe never fills)."""
    lines: list[str] = []

    def read() -> None:
        for line in process.lines():
            lines.append(line)

    threading.Thread(target=read, daemon=True, name="port-forward output").start()
    return lines


@dataclass(frozen=True)
class ServiceTarget:
    """Where a Service sends traffic: its pod selector and the pods' port (number or name)."""

    selector: str
    target_port: str


def service_target(kube: Kube, service: str, port: int) -> ServiceTarget:
    found = kube.get_json("service", service, step=f"read service {service}")
    if found is None:
        raise RuntimeError(
            f"service {service} not found in namespace {kube.namespace}: is the app deployed? "
            "(`invoke status`)"
        )
    selector = ",".join(f"{k}={v}" for k, v in sorted(found["spec"]["selector"].items()))
    ports = found["spec"].get("ports", [])
    match = next((p for p in ports if p.get("port") == port), ports[0] if ports else {})
    return ServiceTarget(selector, str(match.get("targetPort", port)))


def ready_pods(pods: dict[str, dict[str, Any]]) -> list[str]:
    """Names of the pods that are Ready and not being deleted, oldest first."""
    ready = [
        pod
        for pod in pods.values()
        if not pod["metadata"].get("deletionTimestamp")
        and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in pod.get("status", {}).get("conditions") or []
        )
    ]
    ready.sort(key=lambda p: p["metadata"].get("creationTimestamp", ""))
    return [p["metadata"]["name"] for p in ready]


@dataclass
class ReconnectingForward:
    """`kubectl port-forward` to one ready pod of a Service, moved to another when it goes.

    kubectl binds a Service's forward to one pod and stops serving when that pod is replaced
    (kubernetes/kubectl#686). Here a pod watch picks the pod, and the forward is restarted on a
    ready one whenever its pod stops being ready, is deleted, or the process exits.
    """

    kube: Kube
    target: ServiceTarget
    local: int
    say: Callable[[str], None]
    settle_seconds: float = 0.5
    max_failed_starts: int = 5
    stopping: threading.Event = field(default_factory=threading.Event)
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: threading.Event = field(default_factory=threading.Event)
    forwarded: list[str] = field(default_factory=list)  # every pod forwarded to, in order
    _watch: Process | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _failed_starts: int = 0

    def ready(self) -> list[str]:
        with self._lock:
            return ready_pods(self.pods)

    def run(self) -> None:
        """Blocks until `stop()`: forwards 127.0.0.1:`local` to a ready pod, reconnecting."""
        threading.Thread(target=self._watch_pods, daemon=True, name="pod watch").start()
        try:
            while not self.stopping.is_set():
                ready = self.ready()
                if not ready:
                    self.changed.wait(1)
                    self.changed.clear()
                    continue
                self._forward(ready[-1])  # the newest: the one a rollout keeps
        finally:
            self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self.changed.set()
        if self._watch:
            self._watch.stop()

    def _forward(self, pod: str) -> None:
        self.forwarded.append(pod)
        self.say(f"forwarding 127.0.0.1:{self.local} -> pod/{pod}:{self.target.target_port}")
        argv = self.kube.argv(
            "port-forward",
            "--address",
            "127.0.0.1",
            f"pod/{pod}",
            f"{self.local}:{self.target.target_port}",
        )
        process = self.kube.runner.spawn(argv, step=f"port-forward pod/{pod}", mutating=False)
        output: list[str] = []

        def read() -> None:
            for line in process.lines():
                output.append(line)
                # Said once kubectl listens: before that, the URL printed first refuses.
                if line.startswith(f"Forwarding from 127.0.0.1:{self.local}"):
                    self.say(f"ready: http://127.0.0.1:{self.local}/ answers (pod/{pod})")

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            while not self.stopping.is_set() and process.poll() is None:
                if pod not in self.ready():
                    self.say(f"pod/{pod} is going: reconnecting to a ready pod")
                    break
                self.changed.wait(self.settle_seconds)
                self.changed.clear()
            else:
                if not self.stopping.is_set():
                    reader.join(timeout=2)
                    self._ended(pod, output)
        finally:
            process.stop()
            reader.join(timeout=2)

    def _ended(self, pod: str, output: list[str]) -> None:
        """The process exited on its own: reconnect, unless it never started forwarding."""
        errors = "; ".join(line for line in output if "rror" in line)[-300:]
        started = any(line.startswith("Forwarding from") for line in output)
        self._failed_starts = 0 if started else self._failed_starts + 1
        if self._failed_starts >= self.max_failed_starts:
            raise RuntimeError(f"kubectl port-forward to pod/{pod} keeps failing: {errors}")
        self.say(f"port-forward to pod/{pod} ended ({errors or 'no error given'}): reconnecting")
        self.stopping.wait(self.settle_seconds)

    def _watch_pods(self) -> None:
        while not self.stopping.is_set():
            self._watch = self.kube.runner.spawn(
                self.kube.argv("get", "pods", "-l", self.target.selector, "--watch",
                               "--output-watch-events", "-o", "json"),
                step="watch pods", mutating=False,
            )  # fmt: skip
            for event in parse_watch(self._watch.lines()):
                pod = event["object"]
                name = pod["metadata"]["name"]
                with self._lock:
                    if event["type"] == "DELETED":
                        self.pods.pop(name, None)
                    else:
                        self.pods[name] = pod
                self.changed.set()
            self.stopping.wait(1)
