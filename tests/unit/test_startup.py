"""`invoke` starts without the heavy libraries a task imports only when it runs (pydantic and
rich cost about 0.2 s of every command), and the cached defaults equal the computed ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from todo_deploy.base import config, defaults

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pydantic", "rich", "requests", "docker")  # (Invoke itself loads its yaml)


def test_loading_the_tasks_imports_no_heavy_library(tmp_path: Path) -> None:
    script = f"import sys, tasks; print([m for m in {HEAVY!r} if m in sys.modules])"
    env = {"PATH": "/usr/bin:/bin", "TODO_DEPLOY_CACHE": str(tmp_path), "HOME": str(tmp_path)}
    runs = []
    for _ in ("computes the defaults", "reads them cached"):
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, text=True, capture_output=True
        )
        assert out.returncode == 0, out.stderr
        runs.append(json.loads(out.stdout.strip().replace("'", '"')))
    assert "pydantic" in runs[0]  # the first start computes them: the probe sees imports
    assert runs[1] == [], f"`import tasks` loaded {runs[1]}"


def test_cached_defaults_are_the_computed_ones(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TODO_DEPLOY_CACHE", str(tmp_path))
    first = defaults.collection_defaults()  # computed, then written
    (cached,) = (tmp_path / "config").glob("defaults-*.json")
    assert json.loads(cached.read_text()) == config.collection_defaults() == first
    assert defaults.collection_defaults() == first  # read back


def test_a_changed_config_module_is_never_served_stale_defaults(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TODO_DEPLOY_CACHE", str(tmp_path))
    defaults.collection_defaults()
    changed = tmp_path / "config.py"
    changed.write_text(defaults.CONFIG_SOURCE.read_text() + "\n# changed\n")
    monkeypatch.setattr(defaults, "CONFIG_SOURCE", changed)
    defaults.collection_defaults()
    assert len(list((tmp_path / "config").glob("defaults-*.json"))) == 2
