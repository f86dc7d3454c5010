"""k8s/ is rendered from the Helm chart, never edited: render it and check it is in sync.

`render()` writes one file per object from `helm template` with values-dev.yaml (Secrets and
`helm test` hooks left out: the suite applies secrets itself). `check_in_sync()` renders in
memory and lists every difference from k8s/. (Schema validation and the policy scan are test
checks: tests/support/chart_checks.py.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from todo_deploy.base.config import DeployConfig
from todo_deploy.base.paths import REPO_ROOT
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.base.yamldocs import documents

REPO = REPO_ROOT
CHART_DIR = REPO / "helm" / "todo-app"
K8S_DIR = REPO / "k8s"
DEV_VALUES = CHART_DIR / "values-dev.yaml"
# The suite's default release and namespace, so k8s/ carries the labels a helm deploy gives.
RELEASE = DeployConfig().release
NAMESPACE = DeployConfig().namespace
HEADER = (
    "# Generated from helm/todo-app (values-dev.yaml) by todo_deploy.steps.manifests.render().\n"
    "# Do not edit: change the chart and re-render (`invoke manifests`).\n"
)
# Kinds with one object in the app: their file is named for the kind alone.
SINGLE_KINDS = {"Namespace", "ConfigMap"}

Manifest = dict[str, Any]


def template(
    values_files: Iterable[Path] = (),
    set_values: Mapping[str, str] | None = None,
    *,
    tools: Tools | None = None,
    runner: Runner | None = None,
    chart: Path = CHART_DIR,
) -> list[Manifest]:
    """`helm template` of the chart (this repository's, or a copy) as parsed objects (empty
    documents dropped)."""
    # k8s/ is committed: the pinned helm renders it, so every machine writes the same files.
    tools = tools or Tools(runner, prefer_path=False)
    argv = [str(tools.helm), "template", RELEASE, str(chart), "--namespace", NAMESPACE]
    for path in values_files:
        argv += ["--values", str(path)]
    for key, value in (set_values or {}).items():
        argv += ["--set", f"{key}={value}"]
    out = (runner or Runner()).run(argv, step="helm template", mutating=False).stdout
    return documents(out)


def raw_manifests(objects: Iterable[Manifest]) -> list[Manifest]:
    """What k8s/ holds: everything but Secrets (applied by the suite) and Helm hooks."""
    return [
        obj
        for obj in objects
        if obj["kind"] != "Secret"
        and "helm.sh/hook" not in (obj["metadata"].get("annotations") or {})
    ]


def file_name(obj: Manifest) -> str:
    """backend-deployment.yaml for Deployment PREFIX-backend; configmap.yaml for the ConfigMap."""
    kind = obj["kind"]
    if kind in SINGLE_KINDS:
        return f"{kind.lower()}.yaml"
    short = obj["metadata"]["name"].split("-", 1)[-1]
    if short == kind.lower() or short.endswith(f"-{kind.lower()}"):
        return f"{short}.yaml"  # ingress.yaml, api-ingress.yaml: named for their kind already
    return f"{short}-{kind.lower()}.yaml"


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key, as kubectl and yamllint expect."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def to_yaml(obj: Manifest) -> str:
    body = yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=100, default_flow_style=False)
    return f"{HEADER}---\n{body}"


def render_files(*, tools: Tools | None = None, runner: Runner | None = None) -> dict[str, str]:
    """File name -> content of every generated k8s/ file."""
    objects = template([DEV_VALUES], {"namespace.create": "true"}, tools=tools, runner=runner)
    files: dict[str, str] = {}
    for obj in raw_manifests(objects):
        name = file_name(obj)
        if name in files:
            raise ValueError(f"two objects map to k8s/{name}: rename one in the chart")
        files[name] = to_yaml(obj)
    return files


def generated_files(directory: Path) -> list[Path]:
    """Files in `directory` this module wrote (they start with HEADER)."""
    return sorted(
        p for p in directory.glob("*.yaml") if p.read_text(encoding="utf-8").startswith(HEADER)
    )


def render(
    out_dir: Path = K8S_DIR, *, tools: Tools | None = None, runner: Runner | None = None
) -> list[Path]:
    """Write k8s/ from the chart; stale generated files go, hand-written ones stay."""
    files = render_files(tools=tools, runner=runner)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in generated_files(out_dir):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, content in sorted(files.items()):
        path = out_dir / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def check_in_sync(
    k8s_dir: Path = K8S_DIR, *, tools: Tools | None = None, runner: Runner | None = None
) -> list[str]:
    """Every way k8s/ differs from a fresh render; empty when in sync."""
    expected = render_files(tools=tools, runner=runner)
    actual = {p.name: p.read_text(encoding="utf-8") for p in generated_files(k8s_dir)}
    problems = [f"k8s/{n} is missing" for n in sorted(expected.keys() - actual.keys())]
    problems += [f"k8s/{n} is no longer rendered" for n in sorted(actual.keys() - expected)]
    problems += [
        f"k8s/{n} differs from the chart"
        for n in sorted(expected.keys() & actual.keys())
        if expected[n] != actual[n]
    ]
    if problems:
        problems.append("re-render with `invoke manifests` (todo_deploy.steps.manifests.render())")
    return problems
