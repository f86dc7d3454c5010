"""Release helpers on the repository's real k8s/ and the deploy report's JSON and table."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from todo_deploy.steps.install import SECRET_DIGEST_ANNOTATION, load_manifests, retarget
from todo_deploy.steps.report import DeployReport, StepTimer, render

K8S = Path(__file__).resolve().parents[2] / "k8s"
REFS = {
    "frontend": "todo-frontend:aaa",
    "backend": "todo-backend:bbb",
    "mcp": "todo-mcp:ccc",
    "postgres": "todo-postgres:ddd",
}


def test_rendered_k8s_is_pointed_at_the_built_images(require) -> None:
    require(K8S.is_dir() and any(K8S.glob("*.yaml")), "k8s/ has not been rendered yet")
    docs = retarget(load_manifests(str(K8S)), REFS, "traefik")
    images = {
        c["image"]
        for d in docs
        for c in [
            *d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []),
            *d.get("spec", {}).get("template", {}).get("spec", {}).get("initContainers", []),
        ]
    }
    assert images == set(REFS.values())
    assert {d["spec"]["ingressClassName"] for d in docs if d["kind"] == "Ingress"} == {"traefik"}
    assert not [d for d in docs if d["kind"] == "Secret"]  # secrets are never in k8s/


def test_kubectl_method_restarts_the_app_pods_when_the_secret_changes(require) -> None:
    require(K8S.is_dir() and any(K8S.glob("*.yaml")), "k8s/ has not been rendered yet")
    docs = retarget(load_manifests(str(K8S)), REFS, "traefik", secret_digest="abc123")
    annotated = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"].get(
            SECRET_DIGEST_ANNOTATION
        )
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
    }
    assert annotated == {
        "todo-frontend": "abc123",
        "todo-backend": "abc123",
        "todo-mcp": "abc123",
        "todo-postgres": None,
    }


def test_kubectl_method_admits_this_clusters_ingress_controller_only(require) -> None:
    require(K8S.is_dir() and any(K8S.glob("*.yaml")), "k8s/ has not been rendered yet")
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}
    docs = retarget(load_manifests(str(K8S)), REFS, "traefik", peers=[peer])
    policies = {d["metadata"]["name"]: d for d in docs if d["kind"] == "NetworkPolicy"}
    froms = {
        name: [p for rule in d["spec"].get("ingress", []) for p in rule["from"]]
        for name, d in policies.items()
    }
    for name in ("todo-frontend", "todo-backend"):
        assert froms[name][1:] == [peer], name  # the rendered ingress-nginx peer is gone
        assert "podSelector" in froms[name][0]  # the app's own pods still come first
    assert all(peer not in froms[name] for name in ("todo-mcp", "todo-postgres"))


def test_report_times_steps_and_dumps_json(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=120)
    report = DeployReport(budget_seconds=300)
    timer = StepTimer(report, console)
    with timer.step("preflight"):
        pass
    with pytest.raises(KeyboardInterrupt), timer.step("images"):
        raise KeyboardInterrupt
    report.urls["app"] = "http://todo.local/"
    report.hosts_line = "127.0.0.1 todo.local"
    render(report, console, hosts_file=tmp_path / "hosts")  # no entry: the hint
    report.write_json(str(tmp_path / "build" / "report.json"))
    data = json.loads((tmp_path / "build" / "report.json").read_text())
    assert [(s["name"], s["status"]) for s in data["steps"]] == [
        ("preflight", "ok"),
        ("images", "interrupted"),
    ]
    assert data["within_budget"] is True and data["budget_seconds"] == 300
    text = out.getvalue()
    assert "within budget (300 s)" in text and "127.0.0.1 todo.local" in text
