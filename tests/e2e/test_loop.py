"""The inner loop and day-2 view on a real cluster (issue 15), after test_faults.py.

In file order: deploy, then the Secret's server-side apply, logs following new pods, a
port-forward that outlives its pod, machine-readable status and doctor, rollback, OpenAI mode
streaming through the ingress (against the local stub), the watch loop (save to serving, a
figure); the last test purges, so the cluster is left as it was found. Traffic stays on this
machine: 127.0.0.1, and the stub on the cluster's bridge address.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.e2e import openai_mode
from tests.e2e.figures import Figure
from tests.e2e.test_deploy_flow import _app_pods, _client
from tests.support.podwatch import PodWatch, ready_images
from tests.support.secret_scan import scan_texts
from tests.support.signals import default_sigint
from tests.support.stack import ROOT, Stack
from todo_deploy.base import catalogue
from todo_deploy.base.kube import wait_until
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.day2.portforward import free_loopback_port

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _secret(stack: Stack) -> dict:
    name = catalogue.default().object_name("secrets")
    secret = stack.kube.get_json("secret", name, step="read the secret")
    assert secret is not None, "the app's Secret is missing"
    return secret


def test_deploy_for_the_loop(stack: Stack):
    _, proc = stack.invoke("deploy")
    assert proc.returncode == 0, f"invoke deploy failed:\n{proc.stdout[-3000:]}\n{proc.stderr}"


def test_secret_is_applied_server_side_without_a_plain_text_copy(stack: Stack):
    name = catalogue.default().object_name("secrets")
    shown = stack.kube.run("get", "secret", name, "-o", "json", "--show-managed-fields",
                           step="read the secret", mutating=False)  # fmt: skip
    metadata = json.loads(shown.stdout)["metadata"]
    assert LAST_APPLIED not in (metadata.get("annotations") or {})
    owners = {(f["manager"], f["operation"]) for f in metadata.get("managedFields", [])}
    assert ("todo-deploy", "Apply") in owners, owners


def test_a_client_side_applied_secret_loses_its_annotation_on_redeploy(stack: Stack):
    # What an older suite (or a hand-run `kubectl apply`) left: the values in the annotation.
    secret = _secret(stack)
    copy = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret["metadata"]["name"], "namespace": stack.config.namespace},
        "data": secret["data"],
    }
    stack.kube.run("apply", "-f", "-", step="client-side apply", stdin=json.dumps(copy))
    assert LAST_APPLIED in _secret(stack)["metadata"]["annotations"]
    _, proc = stack.invoke("deploy")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert LAST_APPLIED not in (_secret(stack)["metadata"].get("annotations") or {})


@dataclass
class Running:
    """An `invoke` task left running (logs, port-forward, watch), its output collected."""

    proc: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def start_reading(self) -> None:
        def read() -> None:
            for line in self.proc.stdout or ():
                self.lines.append(line.rstrip("\n"))

        threading.Thread(target=read, daemon=True).start()

    def wait_for(self, check: Callable[[str], bool], timeout: float) -> bool:
        return wait_until(
            lambda: any(check(line) for line in list(self.lines)), timeout=timeout, interval=0.2
        )

    def interrupt(self) -> int:
        """Ctrl-C, as a user stops it; the exit code."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("the task did not stop on Ctrl-C") from None


@contextmanager
def running(stack: Stack, *args: str) -> Iterator[Running]:
    argv = [sys.executable, "-m", "invoke", *args, "--provider", stack.config.provider]
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=default_sigint,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"},
    )
    task = Running(proc)
    task.start_reading()
    try:
        yield task
    finally:
        if proc.poll() is None:
            proc.kill()
        stack.outputs[f"invoke {' '.join(args)} (left running)"] = "\n".join(task.lines)


def _restart(stack: Stack, workload: str) -> set[str]:
    """Roll a workload's pods; the names of the pods it has after."""
    component = workload.split("-", 1)[1]
    before = {
        p["metadata"]["name"]
        for p in _app_pods(stack)
        if p["metadata"]["labels"].get("component") == component
    }
    stack.kube.run("rollout", "restart", workload, step="restart")
    stack.kube.rollout_status(workload, 180)
    after = {
        p["metadata"]["name"]
        for p in _app_pods(stack)
        if p["metadata"]["labels"].get("component") == component
    }
    new = after - before
    assert new, f"{workload} has no new pod after a restart"
    return new


def _from(prefix: str) -> Callable[[str], bool]:
    """A followed line of a pod (`POD/CONTAINER | text`) whose label starts with `prefix`."""
    return lambda line: line.startswith(prefix) and " | " in line


def test_logs_follow_every_component_and_pods_started_later(stack: Stack):
    with running(stack, "logs") as logs:
        # Every component's existing pods show up, each line prefixed with pod/container.
        for component in ("frontend", "backend", "mcp", "postgres"):
            prefix = f"todo-{component}-"
            assert logs.wait_for(_from(prefix), timeout=30), (
                f"no {component} line in:\n" + "\n".join(logs.lines[-40:])
            )
        new_pods = _restart(stack, "deployment/todo-mcp")
        for pod in new_pods:
            assert logs.wait_for(_from(f"{pod}/"), timeout=30), (
                f"nothing from the new pod {pod}:\n" + "\n".join(logs.lines[-40:])
            )
        assert logs.interrupt() == 0


def test_port_forward_survives_its_pod_being_replaced(stack: Stack):
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}/health"
    session = requests.Session()
    session.trust_env = False  # loopback only, never through a proxy

    def healthy() -> bool:
        try:
            return session.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    with running(stack, "port-forward", "-c", "backend", "--port", str(port)) as forward:
        assert wait_until(healthy, timeout=30, interval=0.3), "\n".join(forward.lines)
        first = next(line for line in forward.lines if "-> pod/" in line)
        _restart(stack, "deployment/todo-backend")
        # kubectl alone would stop serving here (kubernetes/kubectl#686).
        assert wait_until(healthy, timeout=20, interval=0.3), "\n".join(forward.lines)
        moved = [line for line in forward.lines if "-> pod/" in line]
        assert moved[-1] != first, "\n".join(forward.lines)
        assert forward.interrupt() == 0


def _settled(stack: Stack) -> bool:
    """No pod is still terminating from the restarts above (doctor would rightly see it)."""
    pods = stack.kube.get_json("pods", step="pods") or {"items": [{"metadata": {}}]}
    return not any(p["metadata"].get("deletionTimestamp") for p in pods["items"])


def test_status_and_doctor_speak_json(stack: Stack):
    assert wait_until(lambda: _settled(stack), timeout=60, interval=1)
    _, status = stack.invoke("status", "--json")
    assert status.returncode == 0, status.stderr[-2000:]
    state = json.loads(status.stdout)
    assert state["reachable"] and state["releases"][0]["status"] == "deployed"
    app = [p for p in state["pods"] if p["component"] in ("frontend", "backend", "mcp")]
    assert app and all(p["ready"] == p["containers"] for p in app), app
    _, doctor = stack.invoke("doctor", "--json")
    assert doctor.returncode == 0, doctor.stderr[-2000:]
    report = json.loads(doctor.stdout)
    assert report["healthy"] is True, report["findings"]


def test_rollback_returns_to_the_previous_revision(stack: Stack, tmp_path: Path):
    # A deploy that changes only the Ingress's annotations: a new revision, no pod rolled (an
    # unchanged deploy makes none, so the loop's deploys may have left just one).
    change = tmp_path / "annotated.yaml"
    change.write_text('ingress:\n  annotations:\n    e2e.todo-deploy/rollback: "1"\n')
    _, proc = stack.invoke("deploy", "--values", str(change))
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = _history(stack)[-1]["revision"]
    _, proc = stack.invoke("rollback")
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = json.loads(
        stack.kube.runner.run(
            _helm(stack, "history", stack.config.release, "-o", "json"), step="history"
        ).stdout
    )
    assert after[-1]["revision"] == last + 1 and after[-1]["status"] == "deployed"
    assert after[-1]["description"] == f"Rollback to {last - 1}"
    assert _client(stack).request("GET", "/ready").status_code == 200


def _history(stack: Stack) -> list[dict]:
    listed = stack.kube.runner.run(
        _helm(stack, "history", stack.config.release, "-o", "json"), step="history"
    )
    return json.loads(listed.stdout)


def _deploy_process(stack: Stack) -> subprocess.Popen:
    argv = [sys.executable, "-m", "invoke", "deploy", "--provider", stack.config.provider]
    return subprocess.Popen(
        argv, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _lock_held(stack: Stack) -> bool:
    lease = f"{stack.config.release}-release-lock"
    return stack.kube.get_json("lease", lease, step="the release lock") is not None


def test_two_deploys_at_once_one_waits_and_neither_undoes_the_other(stack: Stack, figures):
    """Two real `invoke deploy` processes after an MCP change: the second waits for the release
    lock (naming the first), helm's history gains no rollback, and the new image serves."""
    before = _history(stack)[-1]["revision"]
    marker = ROOT / "mcp" / "todo_mcp" / "e2e_concurrent_change.py"
    marker.write_text(f'"""Changes the MCP image (e2e)."""\nSTAMP = {time.time()!r}\n')
    started = time.monotonic()
    try:
        first = _deploy_process(stack)
        # The second starts once the first holds the lock, as a second terminal would.
        assert wait_until(lambda: _lock_held(stack) or first.poll() is not None, timeout=300)
        second = _deploy_process(stack)
        outputs = [proc.communicate(timeout=600)[0] for proc in (first, second)]
    finally:
        marker.unlink()
    seconds = time.monotonic() - started
    for name, proc, output in zip(("first", "second"), (first, second), outputs, strict=True):
        stack.outputs[f"concurrent deploy ({name})"] = output
        assert proc.returncode == 0, f"{name} deploy:\n{output[-3000:]}"
    waited = [out for out in outputs if "waiting: release todo is being changed by" in out]
    assert len(waited) == 1, "neither deploy waited for the other:\n" + "\n".join(outputs)
    assert "`invoke deploy` of " in waited[0]
    history = [entry for entry in _history(stack) if entry["revision"] > before]
    assert history and not [e for e in history if "Rollback" in e.get("description", "")], history
    mcp = [p for p in _app_pods(stack) if p["metadata"]["labels"].get("component") == "mcp"]
    served = ready_images(mcp)
    built = [line.split()[0] for out in outputs for line in out.splitlines() if "todo-mcp:" in line]
    assert served and served <= {ref.strip() for ref in built}, (served, built)
    figures.record(Figure("two deploys at once (one waits for the other)", seconds, "s"))


STUB_KEY = "sk-e2e-stub-key-not-a-real-one"
STUB_PAUSE = 0.6  # seconds between the stub's streamed chunks


def test_openai_replies_stream_through_the_front_end_and_the_ingress(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    host = openai_mode.address_pods_reach(stack)
    if host is None:
        pytest.skip(f"no address of this host on {stack.provider.name}'s pod network")
    client = _client(stack)
    client.sign_in(**client.sign_up())
    client.fetch_token()
    stub = openai_mode.stub_module().OpenAIStub(
        "add_task",
        {"user_id": client.user_id, "title": "stream milk"},
        "Added stream milk.",
        host=host,
        pause=STUB_PAUSE,
    )
    monkeypatch.setenv("OPENAI_API_KEY", STUB_KEY)
    values = openai_mode.openai_values(tmp_path, stub.base_url)
    try:
        _, proc = stack.invoke("deploy", "--openai", "--values", str(values))
        assert proc.returncode == 0, proc.stderr[-3000:]
        # The values file's repository, honoured by the build and the release alike.
        assert {image.rsplit(":", 1)[0] for image in _backend_images(stack)} == {
            openai_mode.RENAMED_BACKEND
        }
        assert client.request("GET", f"/api/{client.user_id}/assistant").json()["mode"] == "openai"
        with client.request("POST", f"/api/{client.user_id}/chat/stream",
                            json={"message": "add stream milk"}, stream=True) as reply:  # fmt: skip
            assert reply.status_code == 200, reply.text
            arrivals = openai_mode.stream_chat(reply)
    finally:
        stub.close()
    kinds = [a.event["type"] for a in arrivals]
    assert kinds[0] == "tool_call" and kinds[-1] == "done", kinds
    deltas = [a for a in arrivals if a.event["type"] == "delta"]
    assert "".join(a.event["text"] for a in deltas) == "Added stream milk."
    # Relayed, not buffered: the pieces reach the client about as far apart as the model sent them.
    spread = deltas[-1].seconds - deltas[0].seconds
    assert spread >= STUB_PAUSE * (len(deltas) - 1) * 0.6, [(a.seconds, a.event) for a in arrivals]
    assert client.request("GET", client.tasks_path()).json()[0]["title"] == "stream milk"
    assert stub.authorizations and set(stub.authorizations) == {f"Bearer {STUB_KEY}"}
    # Back to command mode for the tests after this one: a deploy keeps a key the Secret holds.
    monkeypatch.delenv("OPENAI_API_KEY")
    stack.kube.run("patch", "secret", _secret(stack)["metadata"]["name"], "--type=json",
                   "-p", '[{"op": "remove", "path": "/data/OPENAI_API_KEY"}]',
                   step="forget the stub's key")  # fmt: skip
    _, proc = stack.invoke("deploy")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert client.request("GET", f"/api/{client.user_id}/assistant").json()["mode"] == "offline"
    assert scan_texts(dict(stack.outputs), [STUB_KEY]) == []


def _backend_images(stack: Stack) -> set[str]:
    """Images of the back-end pods that are Ready and not going away."""
    pods = [p for p in _app_pods(stack) if p["metadata"]["labels"].get("component") == "backend"]
    return ready_images(pods)


def test_watch_rolls_a_back_end_save_and_ctrl_c_leaves_it_deployed(stack: Stack, figures):
    change = ROOT / "backend" / "todo_backend" / "e2e_watch_change.py"
    backend = f"component={catalogue.default()['backend'].name}"
    with running(stack, "watch", "--no-logs") as watch, PodWatch(stack.kube, backend) as pods:
        assert watch.wait_for(lambda line: line.startswith("watching "), timeout=300), "\n".join(
            watch.lines[-40:]
        )
        before = _backend_images(stack)
        assert pods.wait_for(lambda: pods.ready_images() == before, timeout=30)  # in step
        generation, revision = _backend_generation(stack), _helm_status(stack)["version"]
        saved = time.monotonic()
        change.write_text(f'"""Changes the back-end image (e2e watch)."""\nSTAMP = {saved!r}\n')
        try:
            # Serving: every ready back-end pod runs a new image and the ingress answers.
            def serving() -> bool:
                now = pods.ready_images()
                return bool(now) and now.isdisjoint(before) and _health_ok(stack)

            assert pods.wait_for(serving, timeout=180), "\n".join(watch.lines[-40:])
            figures.record(
                Figure(
                    "watch: back-end save to new pods serving",
                    time.monotonic() - saved,
                    "s",
                    goal=5,
                )
            )
            assert watch.wait_for(lambda line: line.startswith("backend: "), timeout=30)
            # The roll was applied ahead of helm, then recorded: one new revision holding the
            # new tag, and helm's own apply of the same render rolled nothing a second time.
            status = _helm_status(stack)
            assert status["version"] == revision + 1, status["info"]
            [rolled] = [line for line in watch.lines if line.startswith("backend: ")]
            tag = rolled.split()[1].rsplit(":", 1)[1]
            assert status["config"]["images"]["backend"]["tag"] == tag
            assert _backend_generation(stack) == generation + 1
        finally:
            change.unlink()
        # Deleting the file brings the previous content tag back: rolled again, no build.
        assert wait_until(lambda: _backend_images(stack) == before, timeout=180, interval=0.5)
        # Its line comes once helm has recorded it: a Ctrl-C before that would stop helm midway.
        assert wait_until(
            lambda: sum(line.startswith("backend: ") for line in list(watch.lines)) == 2,
            timeout=60,
        ), "\n".join(watch.lines[-40:])
        assert watch.interrupt() == 0
    status = _helm_status(stack)
    assert status["info"]["status"] == "deployed", status["info"]
    assert _health_ok(stack)


def _backend_generation(stack: Stack) -> int:
    workload = catalogue.default()["backend"].workload
    deployment = stack.kube.get_json(workload, step="read the back end's Deployment")
    assert deployment is not None
    return deployment["metadata"]["generation"]


def _health_ok(stack: Stack) -> bool:
    try:
        return _client(stack).request("GET", "/health").status_code == 200
    except requests.RequestException:
        return False


def _helm_status(stack: Stack) -> dict:
    result = stack.kube.runner.run(
        _helm(stack, "status", stack.config.release, "-o", "json"), step="helm status"
    )
    return json.loads(result.stdout)


def test_no_secret_in_what_the_loop_printed(stack: Stack):
    # Followed logs, port-forward and watch output included: all of it went through the Runner.
    values = [base64.b64decode(v).decode() for v in _secret(stack)["data"].values()]
    assert scan_texts(dict(stack.outputs), [v for v in values if len(v) >= 8]) == []


def test_teardown_after_the_loop(stack: Stack):
    _, proc = stack.invoke("teardown", "--purge-data")
    assert proc.returncode == 0, proc.stderr[-3000:]


def _helm(stack: Stack, *args: str) -> list[str]:
    helm = Tools(Runner()).helm
    context = ["--kube-context", stack.kube.context] if stack.kube.context else []
    return [helm, "--namespace", stack.config.namespace, *context, *args]
