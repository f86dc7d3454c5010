"""Live step output: last masked lines under a spinner, ETA from the last run, -v streams all."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from tests.support.fakes import FakeHostProvider, Harness
from todo_deploy.base.kube import Kube
from todo_deploy.flow import lifecycle as flow
from todo_deploy.steps.live import (
    LiveStep,
    RolloutProgress,
    Timings,
    eta_text,
    live_step,
    rollout_lines,
)
from todo_deploy.steps.report import DeployReport, StepTimer

SECRET = "pw-0123456789-secret"


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120, color_system=None), out


def test_a_step_shows_its_last_lines_masked_with_elapsed_and_eta(harness: Harness) -> None:
    h = harness
    h.runner.add_secrets([SECRET])
    h.fake.on("go", "build", stdout="\n".join(f"compiling pkg{i} {SECRET}" for i in range(9)))
    console, _ = _terminal()
    with live_step("cluster up", console, h.runner, last_seconds=600) as step:
        h.runner.run(["go", "build", "./..."], step="build")
        shown = io.StringIO()
        Console(file=shown, width=120, color_system=None).print(step.render())
    text = shown.getvalue()
    assert "cluster up ... 0 s, about 600 s left (last run 600 s)" in text
    assert "compiling pkg8 ******" in text and "compiling pkg2" not in text  # the last 6 only
    assert SECRET not in text
    assert h.runner.listener is None  # the step is over: nothing listens any more


def test_verbose_streams_every_line_and_no_spinner(harness: Harness) -> None:
    h = harness
    h.runner.echo = True
    h.runner.add_secrets([SECRET])
    h.fake.on("docker", "build", stdout="\n".join(f"#{i} step {SECRET}" for i in range(9)))
    console, out = _terminal()
    with live_step("images", console, h.runner):
        h.runner.run(["docker", "build", "."], step="build")
    lines = out.getvalue().splitlines()
    assert [line for line in lines if line.startswith("  #")] == [
        f"  #{i} step ******" for i in range(9)
    ]


def test_without_a_terminal_nothing_listens(harness: Harness) -> None:
    h = harness
    with live_step("images", h.console, h.runner):
        assert h.runner.listener is None  # CI logs stay as they were: no frames, no tail


def test_eta_text() -> None:
    assert eta_text(12.2, None) == "12 s"
    assert eta_text(10, 40) == "10 s, about 30 s left (last run 40 s)"
    assert eta_text(50, 40) == "50 s (last run took 40 s)"


def test_timings_survive_between_runs_and_ignore_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "timings.json"
    Timings.load(path).record("host:cluster up", 61.27)
    assert Timings.load(path).seconds == {"host:cluster up": 61.3}
    path.write_text("not json")
    assert Timings.load(path).seconds == {}


def test_a_deploy_keeps_each_steps_timing_for_the_next_eta(harness: Harness) -> None:
    h = harness
    flow.deploy(h.target(h.config(provider="host"), FakeHostProvider()), hooks=h.hooks())
    kept = Timings.load().seconds  # XDG_STATE_HOME is the test's tmp folder
    assert set(kept) == {
        f"host:{s}" for s in ("preflight", "cluster up", "images", "secrets", "release", "verify")
    }


def test_a_failed_step_keeps_no_timing(tmp_path: Path) -> None:
    timings = Timings.load(tmp_path / "t.json")
    timer = StepTimer(DeployReport(300), Console(file=io.StringIO()), None, timings, "host")
    try:
        with timer.step("images"):
            raise RuntimeError("build failed")
    except RuntimeError:
        pass
    assert timings.seconds == {}


def test_rollout_lines_show_ready_over_desired_and_the_newest_event() -> None:
    workloads = {
        "items": [
            {
                "kind": "Deployment",
                "metadata": {"name": "todo-backend"},
                "spec": {"replicas": 2},
                "status": {"readyReplicas": 1, "updatedReplicas": 2},
            },
            {
                "kind": "StatefulSet",
                "metadata": {"name": "todo-postgres"},
                "spec": {"replicas": 1},
                "status": {"readyReplicas": 1, "updatedReplicas": 1},
            },
        ]
    }
    events = {
        "items": [
            {
                "involvedObject": {"name": "todo-backend-5d4f7b9c8-q8zrt"},
                "reason": "Pulled",
                "message": "image present",
                "lastTimestamp": "2026-12-02T18:00:01Z",
            },
            {
                "involvedObject": {"name": "todo-backend-5d4f7b9c8-q8zrt"},
                "reason": "Started",
                "message": "Started container backend",
                "lastTimestamp": "2026-12-02T18:00:03Z",
            },
            {
                "involvedObject": {"name": "todo-backend-old"},
                "reason": "Killing",
                "message": "before this deploy",
                "lastTimestamp": "2026-12-02T17:00:00Z",
            },
        ]
    }
    assert rollout_lines(workloads, events, since="2026-12-02T17:59:00Z") == [
        "deployment/todo-backend 1/2 ready, updated 2/2 · Started: Started container backend",
        "statefulset/todo-postgres 1/1 ready, updated 1/1",
    ]


def test_the_release_step_shows_rollout_progress_lines() -> None:
    step = LiveStep(
        "release",
        Console(file=io.StringIO()),
        None,
        False,
        lambda: ["deployment/todo-backend 1/2 ready, updated 2/2"],
    )
    shown = io.StringIO()
    Console(file=shown, width=120, color_system=None).print(step.render())
    assert "deployment/todo-backend 1/2 ready" in shown.getvalue()


def test_rollout_progress_reads_quietly(harness: Harness) -> None:
    h = harness
    h.runner.echo = True
    h.runner.listener = lambda line: (_ for _ in ()).throw(AssertionError(line))
    progress = RolloutProgress(Kube(h.runner, "kubectl", "ctx", "todo-app"))
    progress.poll()  # neither echoed nor fed to the step's live lines
    assert progress.lines() == [
        "deployment/todo-backend 2/2 ready, updated 0/2",
        "deployment/todo-mcp 1/1 ready, updated 0/1",
        "statefulset/todo-postgres 1/1 ready, updated 0/1",
    ]
    assert not h.printed
