"""The walls of docs/architecture.md, enforced: who may import whom, and runtime-only imports."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "todo_deploy"

# Top to bottom, each layer a folder of todo_deploy/ (two folders share the middle layer): a
# module may import its own layer and the layers below it, never above.
LAYERS = {
    "tasks": ["tasks"],
    "flow": ["flow"],
    "steps": ["steps", "day2"],
    "providers": ["providers"],
    "base": ["base"],
}
ORDER = list(LAYERS)
FOLDERS = [folder for folders in LAYERS.values() for folder in folders]
APP_PACKAGES = ("todo_backend", "todo_mcp")


def layer_of(module: str) -> str:
    """The layer of `todo_deploy.FOLDER.…`: the folder decides, so a new module needs no list."""
    parts = module.split(".")
    folder = parts[1] if len(parts) > 1 and parts[0] == "todo_deploy" else None
    for layer, folders in LAYERS.items():
        if folder in folders:
            return layer
    raise AssertionError(f"{module} is in no layer folder: put it in one of {FOLDERS}")


def test_every_layer_folder_exists_and_the_package_root_holds_no_module() -> None:
    folders = {p.name for p in SUITE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(FOLDERS)
    assert sorted(p.name for p in SUITE.glob("*.py")) == ["__init__.py"]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (lazy imports inside functions too)."""
    return _imported(ast.parse(path.read_text(encoding="utf-8")))


def _imported(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
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
    bad.write_text("def f():\n    from todo_deploy.flow.lifecycle import deploy\n")
    assert "todo_deploy.flow.lifecycle" in imports(bad)
    assert ORDER.index(layer_of("todo_deploy.flow.lifecycle")) < ORDER.index(
        layer_of("todo_deploy.base.kube")
    )


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


# What starts a process, or moves the folder every command runs in, behind the Runner's back.
PROCESS_MODULES = ("subprocess", "pty", "multiprocessing", "asyncio.subprocess")
OS_PROCESS_CALL = re.compile(r"chdir|system|popen|fork\w*|exec\w*|spawn\w*|posix_spawn\w*")


def _starts_processes(module: str) -> bool:
    if module.startswith("os."):
        return OS_PROCESS_CALL.fullmatch(module.removeprefix("os.")) is not None
    return module.startswith("asyncio.create_subprocess") or any(
        module == name or module.startswith(f"{name}.") for name in PROCESS_MODULES
    )


def around_the_runner(source: str) -> list[str]:
    """What `source` uses to start a process or change folder itself: imports and `os.` calls."""
    tree = ast.parse(source)
    found = {m for m in _imported(tree) if _starts_processes(m)}
    found.update(
        f"os.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
        and _starts_processes(f"os.{node.attr}")
    )
    return sorted(found)


def test_every_child_process_starts_in_the_runner_and_nothing_changes_folder() -> None:
    """base/run.py alone imports subprocess: every command and spawned process gets its
    masking, dry run, echo and test fakes; no module moves the folder commands run in."""
    runner = SUITE / "base" / "run.py"
    found = {
        module_name(path): around_the_runner(path.read_text(encoding="utf-8"))
        for path in suite_modules()
    }
    assert [m for m in found.pop(module_name(runner)) if m != "subprocess"] == []
    assert {name: uses for name, uses in found.items() if uses} == {}


def test_the_runner_check_sees_each_way_around_it() -> None:
    sneaky = (
        "import os, subprocess\n"
        "from subprocess import Popen\n"
        "from asyncio import create_subprocess_exec\n"
        "def f():\n"
        "    from os import chdir\n"
        "    os.chdir('/'); os.system('true'); os.execvp('x', ['x'])\n"
    )
    assert around_the_runner(sneaky) == [
        "asyncio.create_subprocess_exec", "os.chdir", "os.execvp", "os.system",
        "subprocess", "subprocess.Popen",
    ]  # fmt: skip
    assert around_the_runner("import os\nos.environ.get('HOME'); os.killpg(1, 15)\n") == []


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
