"""The suite's lists of components (images, `invoke dev`, the noxfile's Dockerfiles) are the
chart's components.yaml: a component added there is built and run, nothing else edited."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tests.support import chart_copy
from todo_deploy.base import catalogue
from todo_deploy.base.paths import REPO_ROOT
from todo_deploy.day2 import devserver
from todo_deploy.steps import images


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
