"""Faults on a real cluster (issue 8): each one injected, bounded, and its outcome asserted;
and the network isolation the chart's policies promise, probed with real connections.

Runs after test_deploy_flow.py (which leaves nothing deployed) and in file order: the first test
deploys, the last one purges, so the cluster is left as it was found. Every request goes to the
ingress on 127.0.0.1 with the app's Host header; load and polling are bounded in time.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.e2e.app_client import AppClient
from tests.e2e.figures import Figure
from tests.e2e.test_deploy_flow import (
    APP_WORKLOADS,
    _client,
    _pod_uids,
    _pods,
    _psql,
    _signed_in_client,
)
from tests.support.signals import default_sigint
from tests.support.stack import ROOT, Stack
from todo_deploy.base.kube import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

WORKLOADS = (*APP_WORKLOADS, "statefulset/todo-postgres")
FAILED_UPGRADE_TIMEOUT = 30  # helm --timeout for the upgrade meant to fail (it crashes in 2-3 s)
LOAD_THREADS, LOAD_SECONDS = 4, 20
RECOVERY_SECONDS = 90  # PostgreSQL pod back to Ready, then the back end's /ready back to 200
# After teardown + deploy the front end's Service has a new ClusterIP; cluster DNS answers at
# most 5 s stale (CoreDNS ttl 5), and the back end retries a failed JWKS fetch.
TOKENS_VERIFIABLE_WITHIN = 10
INTERRUPT_AFTER_SECONDS = 3  # into the release step, while helm waits for the rollout


@dataclass
class Outcomes:
    """What a batch of requests got: counts per status ('error: ...' for no answer)."""

    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str) -> None:
        with self.lock:
            self.counts[outcome] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def failures(self) -> dict[str, int]:
        return {k: v for k, v in self.counts.items() if k != "200"}


def _call(outcomes: Outcomes, send: Callable[[], requests.Response]) -> None:
    try:
        outcomes.add(str(send().status_code))
    except requests.RequestException as exc:
        outcomes.add(f"error: {type(exc).__name__}")


def _repeat_until(stop: threading.Event, outcomes: Outcomes, send, pause: float) -> None:
    while not stop.is_set():
        _call(outcomes, send)
        stop.wait(pause)


class Traffic:
    """One thread per sender, each repeating its request until the block ends."""

    def __init__(self, senders: Sequence[Callable[[], requests.Response]], pause: float = 0.0):
        self.outcomes = Outcomes()
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=_repeat_until, args=(self.stop, self.outcomes, s, pause))
            for s in senders
        ]

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=40)  # each request has a 30 s timeout


def _copy(client: AppClient) -> AppClient:
    """Same user and token, own connection pool (requests.Session is not thread-safe)."""
    return AppClient(client.base_url, client.host, user_id=client.user_id, token=client.token)


def _invoke_ok(stack: Stack, *args: str) -> tuple[float, str]:
    seconds, proc = stack.invoke(*args)
    assert proc.returncode == 0, (
        f"invoke {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return seconds, proc.stdout + proc.stderr


def _all_ready(stack: Stack) -> bool:
    pods = _pods(stack)
    ready = [
        any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p["status"].get("conditions", [])
        )
        for p in pods
    ]
    return bool(pods) and all(ready)


def _wait_all_ready(stack: Stack, timeout: float = 120) -> None:
    assert wait_until(lambda: _all_ready(stack), timeout=timeout, interval=1), (
        f"not every pod Ready within {timeout} s: "
        + ", ".join(p["metadata"]["name"] for p in _pods(stack))
    )
    for workload in WORKLOADS:
        stack.kube.rollout_status(workload, 60)


def _helm_release_status(stack: Stack) -> str:
    """Status of the release's latest revision, from Helm's own storage (its Secrets)."""
    data = stack.kube.get_json(
        "secrets", "-l", f"owner=helm,name={stack.config.release}", step="helm revisions"
    )
    assert data and data["items"], "no Helm release in the namespace"
    latest = max(data["items"], key=lambda s: int(s["metadata"]["labels"]["version"]))
    return latest["metadata"]["labels"]["status"]


def _status(client: AppClient, path: str) -> int:
    try:
        return client.request("GET", path).status_code
    except requests.RequestException:
        return 0


def _titles(client: AppClient) -> list[str]:
    response = client.request("GET", client.tasks_path())
    assert response.status_code == 200, f"list tasks: {response.status_code} {response.text}"
    return sorted(t["title"] for t in response.json())


def _add_tasks(client: AppClient, *titles: str) -> list[str]:
    for title in titles:
        created = client.request("POST", client.tasks_path(), json={"title": title})
        assert created.status_code in (200, 201), created.text
    return sorted(titles)


def _wait_tokens_verifiable(client: AppClient, figures) -> None:
    """Right after a fresh deploy a token may meet a back end that cannot fetch the JWKS yet
    (503): bounded by TOKENS_VERIFIABLE_WITHIN and measured (0.1 s typical)."""
    started = time.monotonic()
    verifiable = wait_until(
        lambda: _status(client, client.tasks_path()) != 503,
        timeout=TOKENS_VERIFIABLE_WITHIN,
        interval=0.5,
    )
    assert verifiable, f"tokens still unverifiable {TOKENS_VERIFIABLE_WITHIN} s after the deploy"
    name = "faults: 503 for tokens after a fresh deploy (worst)"
    earlier = figures.items.get(name)
    waited = max(time.monotonic() - started, earlier.value if earlier else 0.0)
    figures.record(Figure(name, waited, "s"))


def test_deploy_for_faults(stack: Stack, figures):
    seconds, _ = _invoke_ok(stack, "deploy")
    _wait_all_ready(stack)
    figures.record(Figure("faults: deploy", seconds, "s"))


def test_network_policies_keep_mcp_and_postgres_private(stack: Stack, figures):
    """Enforced by the cluster, not just rendered: `invoke isolation` connects from a pod
    outside the app (where an in-cluster ingress controller runs) and from one with the back
    end's peer labels. (The host cluster's Traefik is a node process, and node traffic is always
    allowed by NetworkPolicy's rules; no Ingress rule routes to MCP: tests/chart.)"""
    seconds, output = _invoke_ok(stack, "isolation")
    rows = [line for line in output.splitlines() if "outside the app" in line]
    # Every component refuses a pod outside the app: the front end and back end admit only the
    # app's pods and the controller (here Traefik on the node, which needs no peer).
    for component in ("frontend", "backend", "mcp", "postgres"):
        assert any(component in r and "blocked" in r for r in rows), output
    figures.record(Figure("faults: isolation check (real connections)", seconds, "s"))

    # The check can fail: without MCP's policies it names the gap and the fix.
    stack.kube.run(
        "delete", "networkpolicy", "todo-mcp", "todo-default-deny", step="remove MCP's policies"
    )
    _, proc = stack.invoke("isolation")
    assert proc.returncode == 1, "isolation passed with MCP unprotected"
    assert "no NetworkPolicy protects mcp" in proc.stdout + proc.stderr
    _invoke_ok(stack, "deploy")  # Helm puts the deleted policies back
    _invoke_ok(stack, "isolation")


MCP_ROLE_PROBE = """
import os, psycopg
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as db:
    print("role", db.execute("SELECT current_user").fetchone()[0])
    for sql in ("SELECT * FROM session", "CREATE ROLE todo_probe_role"):
        try:
            db.execute(sql)
            print("ALLOWED", sql)
        except psycopg.errors.InsufficientPrivilege:
            print("refused", sql)
"""


def test_the_mcp_servers_role_cannot_read_sessions_or_make_roles(stack: Stack):
    """Least privilege, from inside the MCP pod with its own DATABASE_URL: whoever takes the
    MCP server can neither read better-auth's session tokens nor create a role."""
    proc = stack.kube.run(
        "exec", "deploy/todo-mcp", "--", "python", "-c", MCP_ROLE_PROBE,
        step="probe the MCP server's database role", check=False,
    )  # fmt: skip
    assert proc.ok, proc.stderr
    lines = proc.stdout.split("\n")
    assert "role todo_mcp" in lines, proc.stdout
    assert "refused SELECT * FROM session" in lines, proc.stdout
    assert "refused CREATE ROLE todo_probe_role" in lines, proc.stdout


def test_failed_upgrade_rolls_back_and_keeps_serving(stack: Stack, figures, tmp_path: Path):
    # The back end refuses a malformed OPENAI_BASE_URL at start and exits (a config mistake).
    bad = tmp_path / "bad-values.yaml"
    bad.write_text('config:\n  openaiBaseUrl: "not-a-url"\n')
    before = _pod_uids(stack)
    poller = _client(stack)
    with Traffic([lambda: poller.request("GET", "/health")], pause=0.2) as health:
        seconds, proc = stack.invoke(
            "deploy", "--values", str(bad), "--timeout", str(FAILED_UPGRADE_TIMEOUT)
        )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, "an upgrade whose back end cannot start succeeded"
    assert "todo-backend" in output, f"the failure does not name the back end:\n{output[-3000:]}"
    assert "rolled back" in output, f"no word of the rollback:\n{output[-3000:]}"
    # What failed and why, captured before the rollback deleted the failing pods.
    headline = "the new version of deployment/todo-backend did not become ready"
    assert headline in output, output[-3000:]
    assert "container backend:" in output and "exit code 1" in output, output[-3000:]
    assert "OPENAI_BASE_URL is malformed" in output, (
        f"the container's own error is not shown:\n{output[-3000:]}"
    )
    assert "rolled back to revision" in output, output[-3000:]
    assert health.outcomes.total >= FAILED_UPGRADE_TIMEOUT, (
        f"too few polls: {health.outcomes.counts}"
    )
    assert not health.outcomes.failures, (
        f"/health failed during the upgrade: {health.outcomes.counts}"
    )
    assert _helm_release_status(stack) == "deployed"
    _wait_all_ready(stack)
    assert _pod_uids(stack)["backend"] == before["backend"], "the serving back-end pods changed"
    figures.record(Figure("faults: failed upgrade, to rolled back", seconds, "s"))
    figures.record(Figure("faults: /health polls during it", health.outcomes.total, "requests"))


def test_backend_pod_deleted_under_load(stack: Stack, figures):
    client = _signed_in_client(stack)
    _add_tasks(client, "under load")
    copies = [_copy(client) for _ in range(LOAD_THREADS)]
    senders = [functools.partial(c.request, "GET", c.tasks_path()) for c in copies]
    victim = sorted(_pod_uids(stack)["backend"])[0]
    name = next(p["metadata"]["name"] for p in _pods(stack) if p["metadata"]["uid"] == victim)
    started = time.monotonic()
    with Traffic(senders) as load:
        time.sleep(5)
        stack.kube.run("delete", "pod", name, "--wait=false", step="delete a back-end pod")
        time.sleep(max(0.0, LOAD_SECONDS - (time.monotonic() - started)))
    assert load.outcomes.total > 100, f"too little load to mean anything: {load.outcomes.counts}"
    assert not load.outcomes.failures, (
        f"requests failed while {name} was deleted: {load.outcomes.counts}"
    )
    _wait_all_ready(stack)
    assert victim not in _pod_uids(stack)["backend"], f"{name} was not replaced"
    figures.record(
        Figure("faults: requests during a back-end pod deletion", load.outcomes.total, "requests")
    )


def test_postgres_restart_loses_nothing(stack: Stack, figures):
    client = _signed_in_client(stack)
    titles = _add_tasks(client, "before restart 1", "before restart 2", "before restart 3")
    pod = next(p for p in _pods(stack) if p["metadata"]["labels"].get("component") == "postgres")
    started = time.monotonic()
    stack.kube.run("delete", "pod", pod["metadata"]["name"], step="delete the database pod")
    stack.kube.rollout_status("statefulset/todo-postgres", RECOVERY_SECONDS)
    back = wait_until(
        lambda: _status(client, "/ready") == 200, timeout=RECOVERY_SECONDS, interval=1
    )
    assert back, f"/ready not 200 within {RECOVERY_SECONDS} s of the database pod Ready"
    recovered = time.monotonic() - started
    assert _titles(client) == titles, "committed tasks were lost with the database pod"
    _wait_all_ready(stack)
    figures.record(Figure("faults: database pod restart, to /ready 200", recovered, "s"))


def _deploy_process(*args: str) -> subprocess.Popen:
    # Own process group: Ctrl-C in a terminal signals the whole group (invoke and its helm).
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "invoke", "deploy", *args]
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=default_sigint,
    )


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    """Output up to the line holding `marker` (a reader thread, so the wait is bounded)."""
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                found.set()
                return

    threading.Thread(target=read, daemon=True).start()
    assert found.wait(timeout), f"no {marker!r} within {timeout} s:\n{''.join(seen)[-3000:]}"
    return "".join(seen)


def test_ctrl_c_during_release_then_deploy_converges(stack: Stack, figures, tmp_path: Path):
    # A values change rolls every pod, so helm is mid-wait when the interrupt comes.
    change = tmp_path / "log-level.yaml"
    change.write_text("config:\n  logLevel: WARNING\n")
    proc = _deploy_process("--values", str(change), "--provider", stack.config.provider)
    try:
        head = _read_until(proc, "secrets: ok", timeout=300)
        time.sleep(INTERRUPT_AFTER_SECONDS)
        os.killpg(proc.pid, signal.SIGINT)
        tail, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    output = head + tail
    print(output[-3000:])
    assert proc.returncode == 130, f"interrupted deploy exited {proc.returncode}"
    assert "release: interrupted" in output, "the interrupt did not land in the release step"
    assert "run the same command again" in output
    seconds, _ = _invoke_ok(stack, "deploy")
    _wait_all_ready(stack)
    assert _helm_release_status(stack) == "deployed"
    assert _status(_client(stack), "/health") == 200
    figures.record(Figure("faults: deploy after Ctrl-C, to healthy", seconds, "s"))


def test_teardown_keeps_data_and_purge_deletes_it(stack: Stack, figures):
    client = _signed_in_client(stack)
    titles = _add_tasks(client, "kept 1", "kept 2")
    everything = _psql(stack, "select count(*) from task")
    _, said = _invoke_ok(stack, "teardown")
    assert "keeping database volume" in said, said[-2000:]
    _invoke_ok(stack, "deploy")
    _wait_tokens_verifiable(client, figures)
    assert _titles(client) == titles, "tasks lost across teardown and deploy"
    assert _psql(stack, "select count(*) from task") == everything

    _, said = _invoke_ok(stack, "teardown", "--purge-data", "--verbose")
    announced = said.find("--purge-data: deleting database volume")
    deleted = said.find("delete namespace")
    assert 0 <= announced < deleted, f"purge not announced before the deletion:\n{said[-3000:]}"
    _invoke_ok(stack, "deploy")
    assert _psql(stack, "select count(*) from task") == "0", "tasks survived --purge-data"
    _wait_tokens_verifiable(client, figures)
    assert _status(client, client.tasks_path()) == 401, "the purged user's token still works"
    _invoke_ok(stack, "teardown", "--purge-data")
