"""Doctor rules on recorded `kubectl get pods,events -o json` fixtures."""

from __future__ import annotations

import json

import pytest

from tests.support.fakes import FIXTURES
from todo_deploy.day2.doctor import diagnose

CRASH_LOG = "sqlalchemy.exc.OperationalError: could not connect to server\nExited with 1"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def findings():
    asked: list[tuple[str, str]] = []

    def logs(pod: str, container: str) -> str:
        asked.append((pod, container))
        return CRASH_LOG

    result = {f.subject: f for f in diagnose(_load("pods.json"), _load("events.json"), logs)}
    result["_asked"] = asked
    return result


def test_image_missing_from_the_cluster_engine(findings) -> None:
    f = findings["pod/todo-frontend-7c9d8f6b5-kx2lp (container frontend)"]
    assert f.cause.startswith("ErrImageNeverPull: image todo-frontend:3f9a1c2b7d4e is not in")
    assert "minikube docker-env" in f.fix and "pull policy of Never" in f.detail


def test_crash_loop_carries_the_last_log_lines(findings) -> None:
    f = findings["pod/todo-backend-5d4f7b9c8-q8zrt (container backend)"]
    assert "CrashLoopBackOff" in f.cause and "code 1" in f.cause and "3 restarts" in f.cause
    assert f.detail == CRASH_LOG
    assert "invoke restart backend" in f.fix
    # logs are fetched only for the crash-looping container, not for the OOM-killed one
    assert findings["_asked"] == [("todo-backend-5d4f7b9c8-q8zrt", "backend")]


def test_oom_killed_is_not_reported_as_a_plain_crash(findings) -> None:
    f = findings["pod/todo-mcp-6b8c5d7f9-m2vwn (container mcp)"]
    assert f.cause.startswith("OOMKilled") and "limits.memory" in f.fix


def test_pending_for_lack_of_resources(findings) -> None:
    f = findings["pod/todo-postgres-0"]
    assert f.cause == "Pending: no node has resources"
    assert "Insufficient memory" in f.detail and "memory_mb" in f.fix


def test_missing_secret_key_in_an_init_container(findings) -> None:
    f = findings["pod/todo-backend-5d4f7b9c8-z7hjd (container migrate)"]
    assert f.cause.startswith("CreateContainerConfigError")
    assert "MCP_API_TOKEN" in f.detail and "invoke deploy" in f.fix


def test_probe_failure_reported_once_per_pod_with_latest_message(findings) -> None:
    f = findings["pod/todo-mcp-6b8c5d7f9-h4k2x"]
    assert f.cause == "probe failing: Readiness probe failed"
    assert "statuscode: 503" in f.detail


def test_ingress_webhook_not_ready(findings) -> None:
    f = findings["ingress"]
    assert "admission webhook" in f.cause and "rollout status" in f.fix
    assert "validate.nginx.ingress.kubernetes.io" in f.detail


def test_exactly_these_findings_and_none_for_healthy_pods(findings) -> None:
    assert len(findings) - 1 == 7
    # a startup probe that failed before the pod became Ready is normal, not a finding
    assert "pod/todo-frontend-7c9d8f6b5-ready" not in findings
    healthy = diagnose(_load("pods-healthy.json"), {"items": []}, lambda p, c: "")
    assert healthy == []


def test_status_table_lists_readiness_restarts_and_images() -> None:
    import io

    from rich.console import Console

    from todo_deploy.tasks.day2 import _pod_row, _pod_table

    out = io.StringIO()
    pods = [_pod_row(pod) for pod in _load("pods.json")["items"]]
    Console(file=out, width=200).print(_pod_table(pods))
    rows = {
        line.split("│")[1].strip(): line
        for line in out.getvalue().splitlines()
        if line.startswith("│")
    }
    assert len(rows) == 7
    crash = [c.strip() for c in rows["todo-backend-5d4f7b9c8-q8zrt"].split("│")[2:6]]
    assert crash == ["0/1", "Running", "3", "todo-backend:3f9a1c2b7d4e"]
    assert "1/1" in rows["todo-frontend-7c9d8f6b5-ready"]
