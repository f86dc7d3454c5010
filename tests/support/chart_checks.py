"""Checks of the chart and of k8s/ that only the test sessions run (dev dependencies).

`lint()` is `helm lint --strict` for one values set; `validate()` checks manifests offline
against the Kubernetes API schemas of the version the clusters run (todo_deploy.base.versions);
`policy_scan()` runs a pinned checkov over them, isolated from the project's lock.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]
import yaml

from todo_deploy.base import versions
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.steps.manifests import CHART_DIR, DEV_VALUES, Manifest


def api_schema_version(version: str) -> str:
    """`1.34.0` for `v1.34.4`: API schemas are published per minor version."""
    major, minor = version.removeprefix("v").split(".")[:2]
    return f"{major}.{minor}.0"


KUBERNETES_VERSION = api_schema_version(versions.KUBERNETES)  # the API of the clusters we run
CHECKOV_VERSION = "3.3.30"


def scenarios() -> dict[str, list[Path]]:
    """Values sets the chart must lint, render and validate cleanly with (ct-style ci/ too)."""
    found = {"default": [], "dev": [DEV_VALUES], "prod": [CHART_DIR / "values-prod.yaml"]}
    for path in sorted((CHART_DIR / "ci").glob("*-values.yaml")):
        found[f"ci/{path.name}"] = [path]
    return found


def lint(
    values_files: Iterable[Path] = (),
    *,
    tools: Tools | None = None,
    runner: Runner | None = None,
) -> list[str]:
    """`helm lint --strict` problems (errors and warnings) for one values set; empty when clean."""
    tools = tools or Tools(runner)
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
            findings.append(
                f"{check['file_path']}: {check['check_id']} {check['check_name']}"
                f" ({check['resource']})"
            )
    return findings
