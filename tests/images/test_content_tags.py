"""Content tags: the same sources give the same tag; anything the build reads changes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from todo_deploy.steps.images import SPECS, ImageSpec, content_tag, context_files


@pytest.fixture
def tree(tmp_path: Path) -> tuple[ImageSpec, Path]:
    (tmp_path / "app/src").mkdir(parents=True)
    (tmp_path / "app/Dockerfile").write_text("ARG BASE=x\nFROM ${BASE}\nCOPY src /src\n")
    (tmp_path / "app/Dockerfile.dockerignore").write_text("*\n!app/src\n**/*.pyc\n")
    (tmp_path / "app/src/main.py").write_text("print('hi')\n")
    (tmp_path / "notes.md").write_text("not in the image\n")
    spec = ImageSpec("demo", ".", "app/Dockerfile", ("BASE",), "BASE")
    return spec, tmp_path


def test_tag_is_stable_and_never_latest(tree) -> None:
    spec, root = tree
    tag = content_tag(spec, {"BASE": "sha256:1"}, root)
    assert tag == content_tag(spec, {"BASE": "sha256:1"}, root)
    assert tag != "latest" and len(tag) == 12


def test_kept_file_dockerfile_and_base_change_the_tag(tree) -> None:
    spec, root = tree
    tags = {content_tag(spec, {"BASE": "sha256:1"}, root)}
    (root / "app/src/main.py").write_text("print('changed')\n")
    tags.add(content_tag(spec, {"BASE": "sha256:1"}, root))
    (root / "app/Dockerfile").write_text("ARG BASE=x\nFROM ${BASE}\nCOPY src /app/src\n")
    tags.add(content_tag(spec, {"BASE": "sha256:1"}, root))
    tags.add(content_tag(spec, {"BASE": "sha256:2"}, root))
    assert len(tags) == 4


def test_ignored_files_do_not_change_the_tag(tree) -> None:
    spec, root = tree
    before = content_tag(spec, {"BASE": "sha256:1"}, root)
    (root / "notes.md").write_text("edited\n")
    (root / "app/src/main.cpython-311.pyc").write_bytes(b"\0")
    assert content_tag(spec, {"BASE": "sha256:1"}, root) == before


def test_mcp_context_holds_both_packages_and_nothing_else() -> None:
    files = {p.as_posix() for p in context_files(SPECS["mcp"])}
    assert "uv.lock" in files
    assert any(f.startswith("mcp/todo_mcp/") for f in files)
    assert any(f.startswith("backend/todo_backend/") for f in files)
    assert not any(
        f.startswith(("frontend/", ".venv/", "backend/tests/", "mcp/tests/")) for f in files
    )
