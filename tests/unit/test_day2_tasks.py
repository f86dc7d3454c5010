"""Day-2 tasks on a fake cluster: status and doctor as JSON, rollback, logs of every component."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from invoke import Exit, MockContext

from tests.support.fakes import FIXTURES, FakeHostProvider, Harness
from todo_deploy.base.run import TERMINAL, Process, SpawnSpec
from todo_deploy.tasks import day2

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def task_target(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Harness:
    """Every day-2 task gets the harness's Target (fake runner, host-like provider)."""
    target = harness.target(harness.config(provider="host"), FakeHostProvider())
    monkeypatch.setattr(day2, "target", lambda *args, **kwargs: target)
    return harness


def _pods() -> dict:
    return json.loads((FIXTURES / "pods.json").read_text())


def test_status_json_is_one_document_with_pods_and_release(task_target: Harness, capsys):
    h = task_target
    h.fake.on("get", "pods", stdout=_pods())
    # Helm's release records as kubectl reads them: status needs no helm binary.
    labels = [
        {"name": "todo", "version": str(v), "status": s, "owner": "helm"}
        for v, s in ((3, "superseded"), (4, "deployed"))
    ]
    h.fake.on("get", "secrets", stdout={"items": [{"metadata": {"labels": x}} for x in labels]})
    day2.status(MockContext(), json=True)
    state = json.loads(capsys.readouterr().out)
    assert state["provider"] == "host" and state["kube_context"] == "todo-host"
    assert state["cluster"] == {"running": True, "components": {"apiserver": "ok"}}
    assert state["reachable"] is True
    assert state["releases"] == [{"name": "todo", "revision": 4, "status": "deployed"}]
    names = [p["name"] for p in state["pods"]]
    assert names == [p["metadata"]["name"] for p in _pods()["items"]]
    first = state["pods"][0]
    assert set(first) == {"name", "component", "ready", "containers", "phase", "restarts", "images"}
    assert h.out.getvalue() == ""  # nothing but the JSON on stdout


def test_status_json_says_when_the_api_server_does_not_answer(task_target: Harness, capsys):
    task_target.fake.on("get", "pods", rc=1, stderr="connection refused")
    day2.status(MockContext(), json=True)
    state = json.loads(capsys.readouterr().out)
    assert state["reachable"] is False and state["pods"] == [] and state["releases"] == []


def test_doctor_json_lists_each_finding_masked(task_target: Harness, capsys):
    h = task_target
    h.fake.on("get", "pods", stdout=_pods())
    h.fake.on("get", "events", stdout=json.loads((FIXTURES / "events.json").read_text()))
    h.fake.on("logs", stdout="connecting with password sup3r-secret-pw\n")
    h.runner.add_secrets(["sup3r-secret-pw"])
    day2.doctor(MockContext(), json=True)
    report = json.loads(capsys.readouterr().out)
    assert report["healthy"] is False and report["pods"] == len(_pods()["items"])
    assert report["findings"] and all(
        {"subject", "cause", "fix", "detail"} <= set(f) for f in report["findings"]
    )
    assert "sup3r-secret-pw" not in json.dumps(report)


def test_rollback_runs_helm_rollback_and_waits(task_target: Harness):
    h = task_target
    h.fake.on("helm", "status", stdout={"version": 5, "info": {"description": "Rollback to 3"}})
    day2.rollback(MockContext(), revision=3)
    assert (
        "helm --namespace todo-app --kube-context todo-host rollback todo 3 --wait "
        "--timeout 300s" in h.fake.lines
    )
    assert "revision 5 (Rollback to 3)" in h.out.getvalue()
    day2.rollback(MockContext())  # no revision: helm's "the previous one"
    assert h.fake.unlocked_lines[-2].endswith("rollback todo --wait --timeout 300s")


def test_rollback_of_a_first_revision_says_there_is_none_before_it(task_target: Harness):
    task_target.fake.on("helm", "status", stdout={"version": 1, "info": {"status": "deployed"}})
    with pytest.raises(Exit) as refused:
        day2.rollback(MockContext())
    assert "has only revision 1: there is no earlier one" in str(refused.value.message)
    assert refused.value.code == 1
    assert not [line for line in task_target.fake.lines if " rollback " in line]


def test_rollback_refuses_a_missing_release(task_target: Harness):
    task_target.fake.on("helm", "status", rc=1, stderr="Error: release: not found")
    with pytest.raises(Exit) as missing:
        day2.rollback(MockContext())
    assert "is not installed" in str(missing.value.message)
    assert not [line for line in task_target.fake.lines if " rollback " in line]


def test_rollback_flags_through_invoke(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env.update(KUBECONFIG=str(tmp_path / "none"), NO_COLOR="1")

    def invoke(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "invoke", "rollback", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    bad = invoke("--revision", "latest")
    assert bad.returncode == 1 and "--revision 'latest' is not a Helm revision" in bad.stderr
    # No revision is fine (the previous one): here it stops at the guard, before any change.
    plain = invoke("-p", "existing", "-k", "far-away")
    assert plain.returncode == 2 and "refusing to roll back kube context 'far-away'" in plain.stderr


def test_logs_without_a_component_follows_every_component(task_target: Harness):
    h = task_target
    spawned: list[tuple[str, ...]] = []

    def ctrl_c_at_once(spec: SpawnSpec) -> Process:
        spawned.append(spec.argv)
        raise KeyboardInterrupt  # as if Ctrl-C came while the watch starts

    h.runner.spawner = ctrl_c_at_once
    day2.logs(MockContext())  # returns: Ctrl-C ends following quietly
    watch = spawned[0]
    selector = watch[watch.index("-l") + 1]
    everything = "app.kubernetes.io/component in (frontend,backend,mcp,postgres)"
    assert selector == f"app.kubernetes.io/instance=todo,{everything}"
    assert "following frontend, backend, mcp, postgres" in h.out.getvalue()


def test_logs_of_one_component_without_follow_is_a_one_shot_read(task_target: Harness):
    h = task_target
    h.fake.on("logs", rc=1)  # kubectl logs, attached to the terminal, exits 1
    with pytest.raises(Exit, match="kubectl logs failed for backend"):
        day2.logs(MockContext(), component="backend", tail=5)
    (logs,) = h.fake.spawned
    assert logs.argv[-6:] == ("logs", "-l", "app.kubernetes.io/instance=todo,"
                              "app.kubernetes.io/component in (backend)", "--all-containers",
                              "--prefix", "--tail=5")  # fmt: skip
    assert logs.spawned and logs.spawned.output == TERMINAL
    assert h.printed == [f"+ {logs.line}"]  # shown, though the task has no --verbose


def test_json_flags_are_offered():
    for task in (day2.status, day2.doctor):
        assert "json" in inspect.signature(task.body).parameters


def test_status_json_through_invoke_keeps_stdout_for_the_document(tmp_path):
    # Messages (the provider chosen, echoes) go to stderr; stdout parses as JSON as a whole.
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env.update(KUBECONFIG=str(tmp_path / "none"), NO_COLOR="1")
    proc = subprocess.run(
        [sys.executable, "-m", "invoke", "status", "--json", "-v", "-p", "existing", "-k", "gone"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    state = json.loads(proc.stdout)
    assert state["kube_context"] == "gone" and state["reachable"] is False
    assert "provider: existing" in proc.stderr and "+ " in proc.stderr
