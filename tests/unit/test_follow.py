"""`invoke logs` with no component: every container, prefixed, new pods picked up as they start."""

from __future__ import annotations

import io
import json
import threading

from rich.console import Console

from tests.support.fakes import Harness
from tests.support.streams import FakeSpawner, pod, watch_lines
from todo_deploy.base.kube import Kube
from todo_deploy.day2.follow import Container, LogFollower, console_emitter, parse_watch

SELECTOR = "app.kubernetes.io/instance=todo"
OLD = pod("todo-backend-1", "backend", running=["backend"], init_done=["migrate"])
NEW_WAITING = pod("todo-backend-2", "backend", waiting=["backend"])
NEW_RUNNING = pod("todo-backend-2", "backend", running=["backend"])
SECRET = "sk-live-secret-value-123"


def _follow(h: Harness, *watched: dict) -> tuple[list[tuple[str, str]], FakeSpawner]:
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()
    follower: LogFollower

    def emit(container: Container, line: str) -> None:
        with lock:
            seen.append((container.label, line))

    def script(argv: tuple[str, ...]) -> list[str] | None:
        if "--watch" in argv:
            if sum("--watch" in c for c in spawner.calls) > 1:
                follower.stopping.set()  # the second watch: the test has seen enough
                return None
            return watch_lines(*watched)
        name, container = argv[argv.index("-f") + 1], argv[argv.index("-c") + 1]
        return [f"{name} {container} says hi", f"token {SECRET}"]

    spawner = FakeSpawner(script)
    h.runner.spawner = spawner
    h.runner.add_secrets([SECRET])
    h.fake.on("get", "pods", "-l", stdout={"items": [OLD]})  # what runs when we start
    follower = LogFollower(
        Kube(h.runner, "kubectl", "ctx", "todo-app"), SELECTOR, emit, rewatch_seconds=0
    )
    follower.run()
    follower.join()
    return seen, spawner


def test_every_container_is_followed_and_a_pod_started_later_is_picked_up(harness: Harness):
    seen, spawner = _follow(harness, OLD, NEW_WAITING, NEW_RUNNING)
    logs = sorted(c for c in spawner.calls if "logs" in c)
    assert logs == [
        # existing containers: their last lines; the new pod's container: everything
        ("kubectl", "--context", "ctx", "-n", "todo-app", "logs", "-f", "todo-backend-1", "-c",
         "backend", "--tail=20"),
        ("kubectl", "--context", "ctx", "-n", "todo-app", "logs", "-f", "todo-backend-1", "-c",
         "migrate", "--tail=20"),
        ("kubectl", "--context", "ctx", "-n", "todo-app", "logs", "-f", "todo-backend-2", "-c",
         "backend", "--tail=-1"),
    ]  # fmt: skip
    assert ("todo-backend-2/backend", "todo-backend-2 backend says hi") in seen
    assert ("todo-backend-1/migrate", "todo-backend-1 migrate says hi") in seen
    assert all(SECRET not in line for _, line in seen)  # masked by the Runner
    assert ("todo-backend-1/backend", "token ******") in seen
    watches = [c for c in spawner.calls if "--watch" in c]
    assert watches[0][-7:] == ("get", "pods", "-l", SELECTOR, "--watch", "-o", "json")
    assert len(watches) == 2  # an ended watch is started again


def test_a_restarted_container_gets_a_new_follower(harness: Harness):
    restarted = pod("todo-backend-1", "backend", running=["backend"], restarts=1)
    _, spawner = _follow(harness, OLD, restarted)
    backend = [c for c in spawner.calls if "logs" in c and "todo-backend-1" in c and "backend" in c]
    assert [c[-1] for c in backend] == ["--tail=20", "--tail=-1"]


def test_watch_objects_are_parsed_across_lines_and_braces_in_strings():
    tricky = pod("p", "mcp", running=["mcp"])
    tricky["metadata"]["annotations"] = {"note": "a\n}\nb"}
    assert list(parse_watch(watch_lines(OLD, tricky))) == [OLD, tricky]
    # --output-watch-events prints one compact event per line
    events = [json.dumps({"type": "ADDED", "object": p}) for p in (OLD, tricky)]
    assert [e["object"] for e in parse_watch(events)] == [OLD, tricky]
    assert list(parse_watch([json.dumps(OLD) + json.dumps(tricky)])) == [OLD, tricky]


def test_lines_are_prefixed_and_coloured_per_component():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system="standard")
    emit = console_emitter(console, ["frontend", "backend"])
    emit(Container("todo-backend-1", "backend", "backend", 0), "[bold]not markup[/]")
    emit(Container("todo-frontend-1", "frontend", "frontend", 0), "ready")
    text = out.getvalue()
    assert "todo-backend-1/backend | " in text and "[bold]not markup[/]" in text
    assert "\x1b[35m" in text and "\x1b[36m" in text  # magenta back end, cyan front end
