"""The walls of docs/architecture.md, enforced: who may import whom, and runtime-only imports."""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "todo_deploy"

# Top to bottom; a module may import its own layer and the layers below it, never above.
LAYERS = {
    "tasks": ["todo_deploy.tasks"],
    "flow": ["todo_deploy.flow", "todo_deploy.watch"],
    "steps": [
        "todo_deploy.target",
        "todo_deploy.preflight",
        "todo_deploy.install",
        "todo_deploy.secrets",
        "todo_deploy.verify",
        "todo_deploy.isolation",
        "todo_deploy.doctor",
        "todo_deploy.evidence",
        "todo_deploy.failures",
        "todo_deploy.images",
        "todo_deploy.baseimages",
        "todo_deploy.standins",
        "todo_deploy.volumes",
        "todo_deploy.report",
        "todo_deploy.manifests",
        "todo_deploy.devserver",
        "todo_deploy.portforward",
        "todo_deploy.follow",
        "todo_deploy.guard",
        "todo_deploy.live",
        "todo_deploy.lock",
    ],
    "providers": ["todo_deploy.providers"],
    "base": [
        "todo_deploy.kube",
        "todo_deploy.run",
        "todo_deploy.config",
        "todo_deploy.defaults",
        "todo_deploy.catalogue",
        "todo_deploy.tools",
        "todo_deploy.platforms",
        "todo_deploy.background",
        "todo_deploy.paths",
        "todo_deploy.versions",
        "todo_deploy.engine",
        "todo_deploy.debian",
        "todo_deploy.listeners",
        "todo_deploy.yamldocs",
    ],
}
ORDER = list(LAYERS)
APP_PACKAGES = ("todo_backend", "todo_mcp")


def layer_of(module: str) -> str:
    for layer, prefixes in LAYERS.items():
        if any(module == p or module.startswith(f"{p}.") for p in prefixes):
            return layer
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (lazy imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def suite_modules() -> list[Path]:
    """Every module of the suite but its (empty) package file."""
    return sorted(p for p in SUITE.rglob("*.py") if p != SUITE / "__init__.py")


def test_every_suite_module_has_a_layer() -> None:
    for path in suite_modules():
        layer_of(module_name(path))


def test_nothing_imports_upward() -> None:
    upward = []
    for path in suite_modules():
        importer = module_name(path)
        rank = ORDER.index(layer_of(importer))
        for imported in imports(path):
            if not imported.startswith("todo_deploy."):
                continue  # third-party, or the bare package of `from todo_deploy import flow`
            target = ORDER.index(layer_of(imported))
            if target < rank:
                upward.append(f"{importer} ({ORDER[rank]}) imports {imported} ({ORDER[target]})")
    assert upward == []


def test_the_walls_test_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from todo_deploy.flow import deploy\n")
    assert "todo_deploy.flow" in imports(bad)
    assert ORDER.index(layer_of("todo_deploy.flow")) < ORDER.index(layer_of("todo_deploy.kube"))


def test_the_suite_never_imports_the_app_and_the_app_never_imports_the_suite() -> None:
    for path in suite_modules():
        assert not [m for m in imports(path) if m.startswith(APP_PACKAGES)], path
    for app in (ROOT / "backend", ROOT / "mcp"):
        for path in app.rglob("*.py"):
            if ".venv" in path.parts or "node_modules" in path.parts:
                continue
            assert not [m for m in imports(path) if m.startswith("todo_deploy")], path


def test_the_invoke_root_imports_only_the_suite() -> None:
    found = {m.split(".")[0] for m in imports(ROOT / "tasks.py")}
    assert found <= {"invoke", "todo_deploy", "__future__"}


@pytest.mark.timeout(300)
def test_every_suite_module_imports_with_runtime_dependencies_only(tmp_path: Path) -> None:
    """A fresh environment with the suite's own dependencies (no dev group, no back end)."""
    venv = tmp_path / "runtime"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    uv = os.environ.get("UV", "uv")
    sync = [uv, "sync", "--frozen", "--no-dev", "--package", "todo-deploy", "--quiet"]
    subprocess.run(sync, cwd=ROOT, env=env, check=True, timeout=240)
    script = (
        "import importlib, pkgutil, todo_deploy\n"
        "names = [m.name for m in pkgutil.walk_packages(todo_deploy.__path__, 'todo_deploy.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "import tasks\n"  # the Invoke root, as `invoke deploy` loads it
        "for dev_only in ('pytest', 'kubernetes_validate', 'nox', 'todo_backend'):\n"
        "    assert importlib.util.find_spec(dev_only) is None, dev_only\n"
        "print(len(names))\n"
    )
    python = venv / "bin" / "python"
    result = subprocess.run(
        [str(python), "-c", script],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(suite_modules())
