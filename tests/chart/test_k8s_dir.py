"""k8s/ is the chart rendered with values-dev.yaml: in sync, secret-free, valid."""

from __future__ import annotations

import re
import shutil

import yaml

from tests.support import chart_checks
from todo_deploy.steps import manifests

K8S = manifests.K8S_DIR


def test_k8s_is_in_sync_with_the_chart(tools):
    assert manifests.check_in_sync(tools=tools) == []


def test_sync_check_notices_a_stale_file(tools, tmp_path):
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    edited = copy / "backend-deployment.yaml"
    edited.write_text(edited.read_text().replace("replicas: 2", "replicas: 3"))
    (copy / "mcp-service.yaml").unlink()
    problems = manifests.check_in_sync(copy, tools=tools)
    assert "k8s/backend-deployment.yaml differs from the chart" in problems
    assert "k8s/mcp-service.yaml is missing" in problems


def test_k8s_has_one_generated_file_per_object_and_no_secret():
    files = manifests.generated_files(K8S)
    expected = {
        "namespace.yaml",
        "configmap.yaml",
        "ingress.yaml",
        "backend-deployment.yaml",
        "backend-service.yaml",
        "frontend-deployment.yaml",
        "frontend-service.yaml",
        "mcp-deployment.yaml",
        "mcp-service.yaml",
        "postgres-statefulset.yaml",
        "postgres-service.yaml",
    }
    assert expected <= {p.name for p in files}
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert len(docs) == 1, path
        assert docs[0]["kind"] != "Secret", path
    assert {p.name for p in K8S.glob("*.yaml")} == {p.name for p in files}, "hand-edited file?"


def test_secret_template_holds_placeholders_only():
    secret = yaml.safe_load((K8S / "secrets.yaml.template").read_text())
    assert secret["metadata"] == {
        "name": "todo-secrets",
        "namespace": "todo-app",
        "labels": {"app": "todo-chatbot", "component": "secrets"},
    }
    for key, value in secret["stringData"].items():
        assert re.search(r"<[a-z0-9-]+>", value), f"{key} is not a placeholder"
    deployments = " ".join(p.read_text() for p in K8S.glob("*.yaml"))
    referenced = set(re.findall(r"key: ([A-Z_]+)", deployments))
    assert referenced <= set(secret["stringData"]), referenced - set(secret["stringData"])


def test_k8s_is_valid_for_the_pinned_kubernetes_version():
    assert chart_checks.validate([K8S]) == []


def test_validation_catches_a_bad_field():
    bad = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": "eighty"}], "selectr": {}},
    }
    errors = chart_checks.validate_objects([("bad.yaml", bad)])
    assert errors and all("Service/x" in e for e in errors)
