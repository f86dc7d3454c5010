"""The suite's lists of components (images, `invoke dev`, the noxfile's Dockerfiles, the tasks'
help) are the chart's components.yaml: a component added there is built and run, nothing else
edited."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support import chart_copy
from todo_deploy.base import catalogue, defaults
from todo_deploy.base.paths import REPO_ROOT
from todo_deploy.day2 import devserver
from todo_deploy.steps import images
from todo_deploy.tasks import common


def test_an_added_component_gets_an_image_spec_and_a_dev_server(tmp_path: Path) -> None:
    chart = chart_copy.copy_chart(tmp_path)
    chart_copy.add_component(chart)
    found = catalogue.load(chart)

    worker = found["worker"]
    assert (worker.kind, worker.port, worker.image_key) == ("deployment", 8100, "worker")
    assert worker.repository == "todo-worker"  # values.yaml lists no such image
    assert images.image_specs(found)["worker"] == images.ImageSpec(
        "worker", ".", "worker/Dockerfile", ("PYTHON_IMAGE",), "PYTHON_IMAGE"
    )
    repo = tmp_path / "checkout"
    (service,) = [s for s in devserver.dev_services(repo, found) if s.name == "worker"]
    assert service.argv[len(devserver.UV_RUN) :] == [
        "python",
        "-m",
        "todo_worker",
        "--port",
        "8100",
    ]
    assert (service.cwd, service.url) == (repo / "worker", "http://127.0.0.1:8100/health")


def test_the_suites_lists_are_the_manifests() -> None:
    manifest = catalogue.read_manifest()["components"]
    assert list(images.SPECS) == list(manifest)
    for name, spec in images.SPECS.items():
        assert spec.dockerfile == manifest[name]["image"]["dockerfile"]
        assert spec.base_args == tuple(manifest[name]["image"]["baseArgs"])
    served = [s.name for s in devserver.dev_services(REPO_ROOT)]
    assert served == [name for name, spec in manifest.items() if "dev" in spec]
    assert "postgres" not in served  # `invoke dev` keeps its data in SQLite


def test_dev_fills_in_only_its_own_placeholders(tmp_path: Path) -> None:
    services = {s.name: s for s in devserver.dev_services(tmp_path)}
    backend = services["backend"]
    assert f"{tmp_path}/backend/todo_backend" in backend.argv
    assert backend.argv[backend.argv.index("--port") + 1] == "8000"
    assert services["mcp"].env == {"HOST": "127.0.0.1", "PORT": "8001"}
    assert services["frontend"].url == "http://127.0.0.1:3000/"  # the page to open
    assert not [arg for s in services.values() for arg in s.argv if "{" in arg]


def _noxfile(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.chdir(REPO_ROOT)  # it reads pyproject.toml relative to the checkout
    spec = importlib.util.spec_from_file_location("noxfile_under_test", REPO_ROOT / "noxfile.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lint_session_checks_every_components_dockerfile(monkeypatch) -> None:
    manifest = catalogue.read_manifest()["components"]
    expected = [spec["image"]["dockerfile"] for spec in manifest.values()]
    assert _noxfile(monkeypatch).dockerfiles() == expected
    assert all((REPO_ROOT / path).is_file() for path in expected)


# A fresh process: Invoke hands each help text on to its flag once (popping it from task.help).
HELP_SCRIPT = (
    "import json; from todo_deploy.tasks import day2, images\n"
    "print(json.dumps({'logs': day2.logs.help['component'], 'restart': day2.restart.help["
    "'component'], 'port-forward': day2.port_forward.help['component'], 'images.build': "
    "images.NAMES_HELP, 'default': day2.port_forward.__wrapped__.__defaults__[0]}))"
)


def test_the_tasks_help_names_the_manifests_components() -> None:
    names = catalogue.help_names()
    assert names == common.COMPONENTS
    assert names == {
        "all": ["frontend", "backend", "mcp", "postgres"],
        "services": ["frontend", "backend", "mcp"],
        "entry": "frontend",
    }
    shown = subprocess.run(
        [sys.executable, "-c", HELP_SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    found = json.loads(shown.stdout)
    assert found["logs"].startswith("frontend, backend, mcp or postgres")
    assert found["restart"] == "frontend, backend or mcp"
    assert found["port-forward"] == "service to reach: frontend (default), backend, mcp or postgres"
    assert found["default"] == "frontend"
    assert "default all: frontend, backend, mcp, postgres" in found["images.build"]


def test_cached_component_names_follow_the_manifest(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TODO_DEPLOY_CACHE", str(tmp_path / "cache"))
    assert defaults.component_names() == catalogue.help_names()  # computed, then written
    assert defaults.component_names() == catalogue.help_names()  # read back
    chart = chart_copy.copy_chart(tmp_path)
    chart_copy.add_component(chart)
    monkeypatch.setattr(defaults, "MANIFEST_SOURCE", chart / catalogue.MANIFEST)
    assert "worker" in defaults.component_names()["all"]  # never the stale names
    assert len(list((tmp_path / "cache" / "components").glob("names-*.json"))) == 2
