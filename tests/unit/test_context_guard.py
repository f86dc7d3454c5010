"""Deploy and teardown refuse a cluster that is not on this machine unless it is allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fakes import Harness
from todo_deploy.base.kube import Kube
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.steps import guard

ROOT = Path(__file__).resolve().parents[2]
# TEST-NET-3 (RFC 5737): documentation only. The guard refuses before anything dials it.
REMOTE = "https://203.0.113.10:6443"
KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- {name: prod, cluster: {server: "SERVER"}}
users:
- {name: me, user: {token: not-a-real-token}}
contexts:
- {name: prod-eu, context: {cluster: prod, user: me}}
current-context: prod-eu
"""


def _ensure(h: Harness, provider: str, context: str, server: str, **kw) -> None:
    h.fake.on("config", "view", "--minify", stdout=server)
    kube = Kube(h.runner, "kubectl", None, "todo-app")
    options = {"allowed": [], "confirmed": None, **kw}
    guard.ensure_allowed(kube, provider=provider, context=context, action="deploy to", **options)


@pytest.mark.parametrize(
    ("provider", "context", "server"),
    [
        ("minikube", "todo", "https://192.168.49.2:8443"),  # the suite made it
        ("host", "todo-host", "https://127.0.0.1:6443"),
        ("existing", "kind-dev", "https://10.1.2.3:6443"),  # a local distribution's name
        ("existing", "k3d-x", "https://0.0.0.0:6550"),
        ("existing", "my-lab", "https://127.0.0.1:41234"),  # API server on loopback
        ("existing", "v6", "https://[::1]:6443"),
    ],
)
def test_local_contexts_pass(harness: Harness, provider: str, context: str, server: str) -> None:
    _ensure(harness, provider, context, server)


def test_a_remote_context_is_refused_with_both_ways_out(harness: Harness) -> None:
    with pytest.raises(guard.ContextRefused) as refused:
        _ensure(harness, "existing", "prod-eu", REMOTE)
    message = str(refused.value)
    assert "refusing to deploy to kube context 'prod-eu'" in message and REMOTE in message
    assert "--allow-context prod-eu" in message and "allowed_contexts" in message


def test_a_remote_context_passes_when_listed_or_confirmed(harness: Harness) -> None:
    _ensure(harness, "existing", "prod-eu", REMOTE, allowed=["prod-eu"])
    _ensure(harness, "existing", "prod-eu", REMOTE, confirmed="prod-eu")
    with pytest.raises(guard.ContextRefused, match="does not match the context in use"):
        _ensure(harness, "existing", "prod-eu", REMOTE, confirmed="staging")


@pytest.mark.parametrize("task", ["deploy", "teardown"])
def test_invoke_refuses_before_touching_the_cluster(tmp_path: Path, task: str) -> None:
    tools = Tools(Runner())
    assert tools.helm and tools.kubectl  # found or fetched now: the task below only reads
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG.replace("SERVER", REMOTE))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env.update(
        KUBECONFIG=str(kubeconfig),
        NO_COLOR="1",
        XDG_STATE_HOME=str(tmp_path / "state"),
        INVOKE_DEPLOY_REPORT_JSON=str(tmp_path / "report.json"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "invoke", task, "-v", "--provider", "existing"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "refusing to" in proc.stderr and "--allow-context prod-eu" in proc.stderr
    ran = [line for line in proc.stdout.splitlines() if line.startswith("+ ")]
    # Only tool versions and kubeconfig reads ran: nothing reached the cluster.
    assert ran and all(" config " in line or " version " in line for line in ran), ran
    assert any("config view" in line for line in ran)
