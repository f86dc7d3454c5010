"""The Invoke namespace: every task listed with a one-line docstring and help for each flag."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TASKS = [
    "deploy",
    "teardown",
    "status",
    "logs",
    "port-forward",
    "restart",
    "rollback",
    "watch",
    "doctor",
    "manifests",
    "dev",
    "cluster.up",
    "cluster.down",
    "cluster.status",
    "images.build",
    "images.report",
]


def _invoke(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def namespace():
    sys.path.insert(0, str(ROOT))
    try:
        import tasks
    finally:
        sys.path.remove(str(ROOT))
    return tasks.ns


def test_invoke_list_shows_every_task_with_its_summary() -> None:
    listing = _invoke("--list")
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()[2:] if line.strip()}
    for name in TASKS:
        assert name in rows, f"{name} missing from invoke --list"
        assert len(rows[name].split()) > 2, f"{name} has no help text in the listing"


def test_a_task_started_in_a_subfolder_finds_the_repository() -> None:
    checked = _invoke("manifests", "--check", cwd=ROOT / "docs")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "k8s/ matches the chart"


def test_every_flag_of_every_task_has_help(namespace) -> None:
    for name in TASKS:
        task = namespace[name]
        doc = (task.__doc__ or "").strip()
        assert doc and "\n" not in doc, f"{name}: needs a one-line docstring"
        for arg in task.get_arguments():
            assert arg.help, f"{name} --{arg.name} has no help"


def test_dry_run_and_verbose_flags_on_deploy_and_teardown() -> None:
    for name in ("deploy", "teardown"):
        text = _invoke(name, "--help").stdout
        assert "-d, --dry-run" in text and "-v, --verbose" in text and "secrets masked" in text


def test_unknown_provider_exits_with_one_clear_message() -> None:
    result = _invoke("deploy", "--provider", "k3s", "--dry-run")
    assert result.returncode == 1
    assert "invalid deploy configuration" in result.stderr
    assert "provider:" in result.stderr and "'k3s'" in result.stderr
    assert "Traceback" not in result.stderr
