"""verify: workloads, then /health via the ingress or, failing that, a port-forward process.

Where /health must answer, the port-forward runs a real process: a stand-in `kubectl` script that
serves /health on the local port it is asked to forward, so the Runner's spawn, the wait for
kubectl's "Forwarding from" line and the cleanup are exercised; elsewhere it goes to the fake.
"""

from __future__ import annotations

import sys
import textwrap
import threading
from pathlib import Path

import pytest

from tests.support.fakes import FakeHostProvider, Harness
from todo_deploy.base.run import CommandError, PopenProcess, Result
from todo_deploy.day2.portforward import free_loopback_port
from todo_deploy.providers.base import IngressAccess
from todo_deploy.steps.verify import VerifyError, http_get, verify

STAND_IN = textwrap.dedent("""\
    #!{python}
    import http.server, sys
    local = int(sys.argv[-1].split(":")[0])  # kubectl port-forward ... LOCAL:REMOTE

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", local), Health)
    print("Forwarding from 127.0.0.1:%d -> 8000" % local, flush=True)  # as kubectl says it
    server.serve_forever()
""")


@pytest.fixture
def stand_in_kubectl(tmp_path: Path, harness: Harness) -> str:
    path = tmp_path / "kubectl"
    path.write_text(STAND_IN.format(python=sys.executable))
    path.chmod(0o755)
    harness.runner.spawner = PopenProcess  # the stand-in runs for real
    return str(path)


def _closed_ingress() -> IngressAccess:
    # A loopback port nobody listens on: the ingress path fails fast.
    return IngressAccess(f"http://127.0.0.1:{free_loopback_port()}", "todo.local", "")


def test_falls_back_to_a_port_forward_when_the_ingress_does_not_answer(
    harness: Harness, stand_in_kubectl: str
) -> None:
    target = harness.target(harness.config(), FakeHostProvider(kube_context="todo"))
    target.kube.kubectl = stand_in_kubectl
    verified = verify(target, _closed_ingress(), health_timeout=2, sleep=lambda s: None)
    assert verified.via == "port-forward"
    assert verified.health_url.startswith("http://127.0.0.1:")
    assert verified.workloads == {
        "deployment/todo-backend": "2/2",
        "deployment/todo-mcp": "1/1",
        "statefulset/todo-postgres": "1/1",
    }
    # the forwarding process was stopped afterwards
    assert http_get(verified.health_url, "127.0.0.1") == 0


def test_no_workloads_is_an_error(harness: Harness) -> None:
    harness.fake.on("get", "deployments,statefulsets", stdout={"items": []})
    target = harness.target(harness.config(), FakeHostProvider(kube_context="todo"))
    with pytest.raises(VerifyError, match="no Deployment or StatefulSet found in namespace"):
        verify(target, _closed_ingress(), get=lambda url, host: 200)


def test_a_cluster_without_an_ingress_controller_goes_straight_to_a_port_forward(
    harness: Harness, stand_in_kubectl: str
) -> None:
    """A kind cluster made with defaults: nothing serves the Ingress, so verify does not wait
    on it (the ingress URL here would answer 200, and is never asked)."""
    target = harness.target(harness.config(), FakeHostProvider(kube_context="todo"))
    target.kube.kubectl = stand_in_kubectl
    asked: list[str] = []

    def get(url: str, host: str) -> int:
        asked.append(url)
        return http_get(url, host)

    access = IngressAccess("http://127.0.0.1:9", "todo.local", "", reachable=False)
    verified = verify(target, access, get=get, health_timeout=5, sleep=lambda s: None)
    assert verified.via == "port-forward"
    assert asked and not [url for url in asked if url.startswith("http://127.0.0.1:9/")]


def test_an_ingress_that_answers_but_not_with_the_app_fails_without_a_port_forward(
    harness: Harness,
) -> None:
    """Traefik answering 404 (a route it does not serve, e.g. a middleware it cannot find) is
    the deploy's failure: a port-forward to the Service would report the app healthy."""
    target = harness.target(harness.config(), FakeHostProvider(kube_context="todo"))
    access = IngressAccess("http://127.0.0.1:9", "todo.local", "")
    with pytest.raises(VerifyError, match="the ingress answered 404") as failed:
        verify(target, access, get=lambda url, host: 404, health_timeout=1, sleep=lambda s: None)
    assert "invoke doctor" in str(failed.value)
    assert not [line for line in harness.fake.lines if "port-forward" in line]


def test_the_port_forward_goes_through_the_runner_and_a_failed_one_says_why(
    harness: Harness,
) -> None:
    harness.fake.on("port-forward", rc=1, stderr='error: services "todo-backend" not found')
    target = harness.target(harness.config(), FakeHostProvider(kube_context="todo"))
    with pytest.raises(RuntimeError) as failed:
        verify(target, _closed_ingress(), health_timeout=1, sleep=lambda s: None)
    assert 'did not start: error: services "todo-backend" not found' in str(failed.value)
    (forward,) = harness.fake.spawned
    assert forward.argv[:-1] == (
        "kubectl", "--context", "todo", "-n", "todo-app", "port-forward", "--address",
        "127.0.0.1", "service/todo-backend",
    )  # fmt: skip
    assert forward.argv[-1].endswith(":8000")


def test_the_charts_test_runs_alongside_the_check_through_the_ingress(harness: Harness) -> None:
    """Both wait on the cluster (a pod to start, a route to the new pods): neither waits for
    the other, and the test's failure is still the deploy's."""
    target = harness.target(harness.config(), FakeHostProvider(kube_context="todo"))
    access = IngressAccess("http://127.0.0.1:80", "todo.local", "")
    started = threading.Event()

    def slow_health(url: str, host: str) -> int:
        assert started.wait(5), "the chart's test did not start before the ingress answered"
        return 200

    assert verify(target, access, get=slow_health, alongside=started.set).via == "ingress"

    def failing_test() -> None:
        raise CommandError("helm test", Result(("helm", "test"), 1), "helm test todo", "FAILED")

    with pytest.raises(CommandError):
        verify(target, access, get=lambda url, host: 200, alongside=failing_test)
