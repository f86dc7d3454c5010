"""Server-side dry run of k8s/ against a reachable cluster on this machine."""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlsplit

import pytest
import yaml

from todo_deploy import manifests
from todo_deploy.run import Runner

pytestmark = pytest.mark.cluster


def loopback_server(kubectl) -> str:
    """The current context's API server URL, or "" when there is none."""
    argv = [
        str(kubectl),
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.server}",
    ]
    return Runner().run(argv, check=False, mutating=False).stdout.strip()


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def test_k8s_passes_a_server_side_dry_run(tools, require):
    server = loopback_server(tools.kubectl)
    require(bool(server), "a Kubernetes cluster in the current kubeconfig context")
    if not is_loopback(server):
        # Test traffic stays on this machine: never contact a remote API server.
        pytest.skip(f"current context points at {server}, not this machine")
    runner = Runner()
    kubectl = [str(tools.kubectl), "--request-timeout=20s"]
    # A throwaway namespace: a dry run cannot create todo-app for the objects inside it.
    namespace = f"todo-dry-run-{secrets.token_hex(3)}"
    objects = [obj for _, obj in manifests.load([manifests.K8S_DIR]) if obj["kind"] != "Namespace"]
    objects.append(yaml.safe_load((manifests.K8S_DIR / "secrets.yaml.template").read_text()))
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
    runner.run([*kubectl, "create", "namespace", namespace])
    try:
        result = runner.run(
            [*kubectl, "apply", "--dry-run=server", "-f", "-"],
            stdin=yaml.safe_dump_all(objects),
            check=False,
        )
    finally:
        runner.run([*kubectl, "delete", "namespace", namespace, "--wait=false"], check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(server dry run)") == len(objects)
