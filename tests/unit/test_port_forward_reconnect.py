"""`invoke port-forward` follows the Service's pods: a replaced pod means a new forward."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support.fakes import Harness
from tests.support.streams import FakeSpawner, event_lines
from todo_deploy.base.kube import Kube
from todo_deploy.day2.portforward import ReconnectingForward, ServiceTarget, service_target

SELECTOR = "app.kubernetes.io/component=backend,app.kubernetes.io/instance=todo"


def _pod(name: str, created: str, *, ready: bool = True, deleting: bool = False) -> dict:
    meta = {"name": name, "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-02T18:00:00Z"
    status = "True" if ready else "False"
    return {"metadata": meta, "status": {"conditions": [{"type": "Ready", "status": status}]}}


A = _pod("todo-backend-a", "2026-12-02T17:00:00Z")
B = _pod("todo-backend-b", "2026-12-02T17:30:00Z")


def _forward(h: Harness, script, hold: bool = True) -> tuple[ReconnectingForward, FakeSpawner]:
    kube = Kube(h.runner, "kubectl", "ctx", "todo-app")
    said: list[str] = []
    forward = ReconnectingForward(
        kube, ServiceTarget(SELECTOR, "http"), 18000, said.append, settle_seconds=0.01
    )
    spawner = FakeSpawner(lambda argv: script(argv, forward, spawner.calls), hold=hold)
    h.runner.spawner = spawner
    runner = threading.Thread(target=forward.run, daemon=True)
    runner.start()
    runner.join(10)
    assert not runner.is_alive(), "the forward did not stop"
    return forward, spawner


def _forwards(spawner: FakeSpawner) -> list[tuple[str, ...]]:
    return [c for c in spawner.calls if "port-forward" in c]


def test_a_pod_replaced_by_a_rollout_moves_the_forward_to_the_new_pod(harness: Harness):
    spawned = {name: threading.Event() for name in ("todo-backend-a", "todo-backend-b")}

    def watch() -> Iterator[str]:
        yield from event_lines("ADDED", A)
        spawned["todo-backend-a"].wait(5)
        yield from event_lines("ADDED", B)
        going = _pod("todo-backend-a", A["metadata"]["creationTimestamp"], deleting=True)
        yield from event_lines("MODIFIED", going)
        spawned["todo-backend-b"].wait(5)

    def script(argv, forward, calls):
        if "--watch" in argv:
            return watch()
        pod = argv[-2].removeprefix("pod/")
        spawned[pod].set()
        if pod == "todo-backend-b":
            threading.Timer(0.2, forward.stop).start()
        return ["Forwarding from 127.0.0.1:18000 -> 8000"]

    forward, spawner = _forward(harness, script)
    assert forward.forwarded[:2] == ["todo-backend-a", "todo-backend-b"]
    # Each forward says when it answers, once kubectl listens (not when it is started).
    said = forward.say.__self__  # type: ignore[attr-defined]  # the list _forward fills
    ready = [line for line in said if line.startswith("ready: ")]
    assert ready[:2] == [
        "ready: http://127.0.0.1:18000/ answers (pod/todo-backend-a)",
        "ready: http://127.0.0.1:18000/ answers (pod/todo-backend-b)",
    ]
    assert _forwards(spawner)[0] == (
        "kubectl", "--context", "ctx", "-n", "todo-app", "port-forward", "--address", "127.0.0.1",
        "pod/todo-backend-a", "18000:http",
    )  # fmt: skip
    watch_argv = next(c for c in spawner.calls if "--watch" in c)
    assert watch_argv[-7:] == ("pods", "-l", SELECTOR, "--watch", "--output-watch-events", "-o",
                               "json")  # fmt: skip
    assert all(s.stopped.is_set() for s in spawner.streams)  # nothing left running


def test_a_forward_that_dies_on_its_own_is_started_again(harness: Harness):
    def script(argv, forward, calls):
        if "--watch" in argv:
            return event_lines("ADDED", A)
        if len([c for c in calls if "port-forward" in c]) >= 3:
            forward.stop()
        return ["Forwarding from 127.0.0.1:18000 -> 8000", "error: lost connection to pod"]

    forward, _ = _forward(harness, script, hold=False)
    assert forward.forwarded[:3] == ["todo-backend-a"] * 3


def test_a_forward_that_never_starts_is_one_clear_error(harness: Harness):
    def script(argv, forward):
        if "--watch" in argv:
            return event_lines("ADDED", A)
        return ["Unable to listen on port 18000: address already in use", "error: unable to listen"]

    errors: list[BaseException] = []
    kube = Kube(harness.runner, "kubectl", "ctx", "todo-app")
    forward = ReconnectingForward(
        kube, ServiceTarget(SELECTOR, "http"), 18000, lambda _: None, settle_seconds=0.01
    )
    harness.runner.spawner = FakeSpawner(lambda argv: script(argv, forward))
    try:
        forward.run()
    except RuntimeError as exc:
        errors.append(exc)
    assert errors and "keeps failing" in str(errors[0]) and "unable to listen" in str(errors[0])


def test_the_service_names_the_selector_and_the_target_port(harness: Harness):
    h = harness
    selector = {"app.kubernetes.io/instance": "todo", "app.kubernetes.io/component": "backend"}
    spec = {"selector": selector, "ports": [{"port": 8000, "targetPort": "http"}]}
    h.fake.on("get", "service", "todo-backend", stdout={"spec": spec})
    target = service_target(Kube(h.runner, "kubectl", "ctx", "todo-app"), "todo-backend", 8000)
    assert target == ServiceTarget(SELECTOR, "http")
    h.fake.on("get", "service", "todo-backend", rc=1, stderr="NotFound")
    with pytest.raises(RuntimeError, match="is the app deployed"):
        service_target(Kube(h.runner, "kubectl", "ctx", "todo-app"), "todo-backend", 8000)
