"""k8s/ is rendered from the Helm chart, never edited: render it, check it, validate it.

`render()` writes one file per object from `helm template` with values-dev.yaml (Secrets and
`helm test` hooks left out: the suite applies secrets itself). `check_in_sync()` renders in
memory and lists every difference from k8s/. `validate()` checks manifests offline against the
Kubernetes API schemas of a pinned version; `policy_scan()` runs a pinned checkov over them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import yaml

from todo_deploy import binaries, versions
from todo_deploy.run import Runner

REPO = Path(__file__).resolve().parent.parent
CHART_DIR = REPO / "helm" / "todo-app"
K8S_DIR = REPO / "k8s"
DEV_VALUES = CHART_DIR / "values-dev.yaml"
RELEASE = "todo"  # the suite's release name (todo_deploy.config), so labels match a helm deploy
NAMESPACE = "todo-app"
KUBERNETES_VERSION = versions.api_schema_version()  # the API of the cluster we run
CHECKOV_VERSION = "3.3.30"
HEADER = (
    "# Generated from helm/todo-app (values-dev.yaml) by todo_deploy.manifests.render().\n"
    "# Do not edit: change the chart and re-render (`invoke manifests`).\n"
)
# Kinds with one object in the app: their file is named for the kind alone.
SINGLE_KINDS = {"Namespace", "ConfigMap", "Ingress"}

Manifest = dict[str, Any]


def template(
    values_files: Iterable[Path] = (),
    set_values: Mapping[str, str] | None = None,
    *,
    tools: binaries.Tools | None = None,
    runner: Runner | None = None,
) -> list[Manifest]:
    """`helm template` of the chart as parsed objects (empty documents dropped)."""
    tools = tools or binaries.ensure(runner)
    argv = [str(tools.helm), "template", RELEASE, str(CHART_DIR), "--namespace", NAMESPACE]
    for path in values_files:
        argv += ["--values", str(path)]
    for key, value in (set_values or {}).items():
        argv += ["--set", f"{key}={value}"]
    out = (runner or Runner()).run(argv, step="helm template", mutating=False).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def scenarios() -> dict[str, list[Path]]:
    """Values sets the chart must lint, render and validate cleanly with (ct-style ci/ too)."""
    found = {"default": [], "dev": [DEV_VALUES], "prod": [CHART_DIR / "values-prod.yaml"]}
    for path in sorted((CHART_DIR / "ci").glob("*-values.yaml")):
        found[f"ci/{path.name}"] = [path]
    return found


def lint(
    values_files: Iterable[Path] = (),
    *,
    tools: binaries.Tools | None = None,
    runner: Runner | None = None,
) -> list[str]:
    """`helm lint --strict` problems (errors and warnings) for one values set; empty when clean."""
    tools = tools or binaries.ensure(runner)
    argv = [str(tools.helm), "lint", "--strict", str(CHART_DIR)]
    for path in values_files:
        argv += ["--values", str(path)]
    result = (runner or Runner()).run(argv, step="helm lint", check=False, mutating=False)
    output = result.stdout + result.stderr
    problems = [
        line.strip() for line in output.splitlines() if "[WARNING]" in line or "[ERROR]" in line
    ]
    if result.returncode != 0 and not problems:
        problems.append(output.strip())
    return problems


def raw_manifests(objects: Iterable[Manifest]) -> list[Manifest]:
    """What k8s/ holds: everything but Secrets (applied by the suite) and Helm hooks."""
    return [
        obj
        for obj in objects
        if obj["kind"] != "Secret"
        and "helm.sh/hook" not in (obj["metadata"].get("annotations") or {})
    ]


def file_name(obj: Manifest) -> str:
    """backend-deployment.yaml for Deployment todo-backend; configmap.yaml for the ConfigMap."""
    kind = obj["kind"]
    if kind in SINGLE_KINDS:
        return f"{kind.lower()}.yaml"
    short = obj["metadata"]["name"].split("-", 1)[-1]
    return f"{short}-{kind.lower()}.yaml"


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key, as kubectl and yamllint expect."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def to_yaml(obj: Manifest) -> str:
    body = yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=100, default_flow_style=False)
    return f"{HEADER}---\n{body}"


def render_files(
    *, tools: binaries.Tools | None = None, runner: Runner | None = None
) -> dict[str, str]:
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
    out_dir: Path = K8S_DIR, *, tools: binaries.Tools | None = None, runner: Runner | None = None
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
    k8s_dir: Path = K8S_DIR, *, tools: binaries.Tools | None = None, runner: Runner | None = None
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
        problems.append("re-render with `invoke manifests` (todo_deploy.manifests.render())")
    return problems


def load(paths: Iterable[Path]) -> list[tuple[str, Manifest]]:
    """(origin, object) for every document in the given files and directories' *.yaml."""
    found = []
    for path in paths:
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        for file in files:
            docs = yaml.safe_load_all(file.read_text(encoding="utf-8"))
            found += [(f"{file}#{i}", doc) for i, doc in enumerate(docs) if doc]
    return found


def validate_objects(
    objects: Iterable[tuple[str, Manifest]], version: str = KUBERNETES_VERSION
) -> list[str]:
    """Schema errors (strict: unknown fields too) of each (origin, object); empty when valid."""
    errors = []
    for origin, obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = "/".join(str(p) for p in error.path) or "(root)"
            errors.append(
                f"{origin} {obj['kind']}/{obj['metadata']['name']}: {where}: {error.message}"
            )
    return errors


def validate(paths: Iterable[Path], version: str = KUBERNETES_VERSION) -> list[str]:
    """Schema errors of every object in files and directories (k8s/, a saved render)."""
    return validate_objects(load(paths), version)


def policy_scan(directory: Path, *, runner: Runner | None = None) -> list[str]:
    """checkov's failed checks over the manifests in `directory` as readable lines.

    Justified exceptions live in the chart as `checkov.io/skipN` annotations, next to the
    object they concern; checkov reports them as skipped, not failed.
    """
    argv = [
        *_checkov_command(), "--directory", str(directory), "--framework", "kubernetes",
        "--output", "json", "--quiet", "--compact", "--skip-download",
    ]  # fmt: skip
    env = {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = (runner or Runner()).run(
        argv, step="policy scan (checkov)", env=env, check=False, mutating=False, timeout=600
    )
    if result.returncode not in (0, 1):  # 1 means findings; anything else is a crash
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr[-2000:]}")
    return _checkov_findings(result.stdout)


def _checkov_command() -> list[str]:
    # An isolated, pinned checkov: its many pinned dependencies stay out of the project lock.
    uv = os.environ.get("UV", "uv")
    return [uv, "tool", "run", "--python", f"{sys.version_info[0]}.{sys.version_info[1]}",
            "--from", f"checkov=={CHECKOV_VERSION}", "checkov"]  # fmt: skip


def _checkov_findings(stdout: str) -> list[str]:
    if not stdout.strip():
        return []
    reports = json.loads(stdout)
    if isinstance(reports, dict):
        reports = [reports]
    findings = []
    for report in reports:
        for check in report.get("results", {}).get("failed_checks", []):
            findings.append(f"{check['file_path']}: {check['check_id']} {check['check_name']}"
                            f" ({check['resource']})")  # fmt: skip
    return findings


def main() -> int:
    """`python -m todo_deploy.manifests`: render k8s/ and validate it."""
    written = render()
    print(f"rendered {len(written)} files into {K8S_DIR}")
    errors = validate([K8S_DIR])
    print("\n".join(errors) or "k8s/ is valid for Kubernetes " + KUBERNETES_VERSION)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
