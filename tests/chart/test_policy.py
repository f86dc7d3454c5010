"""Policy scan (checkov): no findings. Each exception is a `checkov.io/skipN` annotation in the
chart, next to the objects it concerns, with its reason."""

from __future__ import annotations

import shutil

import yaml

from tests.support import chart_checks
from todo_deploy.steps import manifests

# Reasons sit next to each skip: templates/_helpers.tpl (all workloads), tests/ (the test pod).
JUSTIFIED = {"CKV_K8S_43", "CKV_K8S_15", "CKV_K8S_35", "CKV_K8S_8", "CKV_K8S_9"}
PRIVILEGED_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "known-bad", "namespace": "todo-app"},
    "spec": {
        "containers": [{"name": "c", "image": "x:latest", "securityContext": {"privileged": True}}]
    },
}


def write_scenarios(render, root):
    for scenario, values in chart_checks.scenarios().items():
        out = root / scenario.replace("/", "-").removesuffix(".yaml")
        out.mkdir()
        for i, obj in enumerate(render(values)):
            (out / f"{i:02}-{obj['kind'].lower()}.yaml").write_text(yaml.safe_dump(obj))


def test_k8s_and_every_rendered_scenario_pass_the_policy_scan(render, require, tmp_path):
    require(shutil.which("uv") is not None, "uv (runs the pinned checkov)")
    shutil.copytree(manifests.K8S_DIR, tmp_path / "k8s")
    write_scenarios(render, tmp_path)
    (tmp_path / "known-bad").mkdir()
    (tmp_path / "known-bad" / "pod.yaml").write_text(yaml.safe_dump(PRIVILEGED_POD))

    findings = chart_checks.policy_scan(tmp_path)

    bad = [f for f in findings if f.startswith("/known-bad/")]
    assert any("CKV_K8S_16" in f for f in bad), "the scanner must flag a privileged pod"
    assert [f for f in findings if f not in bad] == []


def test_policy_exceptions_are_few_and_explained():
    templates = sorted((manifests.CHART_DIR / "templates").rglob("*.*"))
    lines = [line.strip() for t in templates for line in t.read_text().splitlines()]
    skips = [line.split(":", 1)[1].strip() for line in lines if line.startswith("checkov.io/skip")]
    assert {s.split("=", 1)[0] for s in skips} == JUSTIFIED
    assert all(len(s.split("=", 1)[1]) > 30 for s in skips), "each skip needs a reason"
