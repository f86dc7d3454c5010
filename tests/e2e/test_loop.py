"""The inner loop and day-2 view on a real cluster (issue 15), after test_faults.py.

In file order: deploy, then the Secret's server-side apply, logs following new pods, a
port-forward that outlives its pod, machine-readable status and doctor, `helm test`, rollback;
the last test purges, so the cluster is left as it was found. Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _secret(stack: Stack) -> dict:
    secret = stack.kube.get_json("secret", stack.config.secret_name, step="read the secret")
    assert secret is not None, "the app's Secret is missing"
    return secret


def test_deploy_for_the_loop(stack: Stack):
    _, proc = stack.invoke("deploy")
    assert proc.returncode == 0, f"invoke deploy failed:\n{proc.stdout[-3000:]}\n{proc.stderr}"


def test_secret_is_applied_server_side_without_a_plain_text_copy(stack: Stack):
    metadata = _secret(stack)["metadata"]
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
