"""The chart against the real cluster, before the deploy: a server-side dry run of k8s/, and the
chart's `lookup` keeping generated secrets. Each test works in a throwaway namespace."""

from __future__ import annotations

import base64
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support import chart_checks
from todo_deploy.base.run import Runner
from todo_deploy.steps import manifests

pytestmark = pytest.mark.cluster


def on_this_machine(url: str) -> bool:
    """True for loopback or an address of this machine's own interfaces (e.g. a cluster bridge):
    packets to them never leave the host."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a DNS name could resolve anywhere
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(address), 0))  # only succeeds for a local address; sends nothing
        except OSError:
            return False
    return True


@pytest.fixture
def kubectl(tools, require):
    """kubectl argv prefix for the current context, once it is known to be on this machine."""
    view = [str(tools.kubectl), "config", "view", "--minify", "-o"]
    server = Runner().run([*view, "jsonpath={.clusters[0].cluster.server}"], check=False).stdout
    require(bool(server.strip()), "a Kubernetes cluster in the current kubeconfig context")
    if not on_this_machine(server.strip()):
        # Test traffic stays on this machine: never contact a remote API server.
        pytest.skip(f"current context points at {server.strip()}, not this machine")
    return [str(tools.kubectl), "--request-timeout=20s"]


@pytest.fixture
def namespace(kubectl):
    name = f"todo-chart-test-{secrets.token_hex(3)}"
    Runner().run([*kubectl, "create", "namespace", name])
    yield name
    Runner().run([*kubectl, "delete", "namespace", name, "--wait=false"], check=False)


def test_k8s_passes_a_server_side_dry_run(kubectl, namespace):
    objects = [
        obj for _, obj in chart_checks.load([manifests.K8S_DIR]) if obj["kind"] != "Namespace"
    ]
    objects.append(yaml.safe_load((manifests.K8S_DIR / "secrets.yaml.template").read_text()))
    for obj in objects:
        obj["metadata"]["namespace"] = namespace  # a dry run cannot create todo-app first
    result = Runner().run(
        [*kubectl, "apply", "--dry-run=server", "-f", "-"],
        stdin=yaml.safe_dump_all(objects),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(server dry run)") == len(objects)


def test_upgrade_keeps_generated_secrets(tools, kubectl, namespace):
    kept = {
        "BETTER_AUTH_SECRET": "a" * 40,
        "MCP_API_TOKEN": "b" * 40,
        "POSTGRES_PASSWORD": "c" * 20,
        "POSTGRES_MCP_PASSWORD": "d" * 32,
    }
    # As an earlier release of the chart left it: owned by Helm, so the upgrade may adopt it.
    owner = {"meta.helm.sh/release-name": "todo", "meta.helm.sh/release-namespace": namespace}
    metadata = {
        "name": "todo-secrets",
        "namespace": namespace,
        "annotations": owner,
        "labels": {"app.kubernetes.io/managed-by": "Helm"},
    }
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "stringData": kept}
    Runner().run([*kubectl, "apply", "-f", "-"], stdin=yaml.safe_dump(live))
    argv = [str(tools.helm), "template", "todo", str(manifests.CHART_DIR), "--namespace",
            namespace, "--dry-run=server", "--show-only", "templates/secret.yaml"]  # fmt: skip
    rendered = yaml.safe_load(Runner().run(argv).stdout)
    data = {k: base64.b64decode(v).decode() for k, v in rendered["data"].items()}
    assert {k: data[k] for k in kept} == kept
    assert data["DATABASE_URL"] == f"postgresql://todo:{'c' * 20}@todo-postgres:5432/todo"
    assert data["MCP_DATABASE_URL"] == f"postgresql://todo_mcp:{'d' * 32}@todo-postgres:5432/todo"
