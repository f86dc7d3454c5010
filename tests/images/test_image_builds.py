"""The built images: content-tagged, non-root, exec-form CMD, nothing of the build left inside."""

from __future__ import annotations

import json
import tarfile

import pytest

from todo_deploy.steps.images import BUILD_TIMEOUT, SPECS, build_images

pytestmark = [pytest.mark.docker, pytest.mark.timeout(BUILD_TIMEOUT)]

# Tool chains and caches that belong to build stages only.
BUILD_ONLY = (
    "usr/bin/gcc",
    "usr/bin/cc",
    "usr/bin/g++",
    "usr/bin/make",
    "root/.cache/pip",
    "root/.cache/uv",
    "root/.npm",
    "opt/uv/",
    "src/backend/",
    "var/cache/apt/archives/",
    "var/lib/apt/lists/deb",
)


def _config(docker, ref: str) -> dict:
    return json.loads(docker.inspect(ref, "{{json .Config}}") or "{}")


@pytest.mark.parametrize("name", list(SPECS))
def test_image_is_content_tagged_non_root_and_exec_form(built, docker, name) -> None:
    image = built[name]
    assert image.ref == f"todo-{name}:{image.tag}" and image.tag != "latest"
    config = _config(docker, image.ref)
    assert config["User"] == "10001:10001"
    command = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
    assert command and command[:2] != ["/bin/sh", "-c"], command


@pytest.mark.parametrize("name", list(SPECS))
def test_runtime_holds_no_compiler_or_package_cache(built, docker, name, tmp_path) -> None:
    container = docker.run("create", built[name].ref, step="create").stdout.strip()
    try:
        docker.run("export", "--output", tmp_path / "fs.tar", container, step="export")
    finally:
        docker.run("rm", container, step="remove", check=False)
    with tarfile.open(tmp_path / "fs.tar") as tar:
        # Empty folders (apt's partial/) are harmless; files and tools are not.
        leftovers = [m.name for m in tar if not m.isdir() and m.name.startswith(BUILD_ONLY)]
    assert leftovers == []


def test_unchanged_sources_reuse_the_tag(built, docker) -> None:
    # postgres: its sources change only with this test suite, not while others edit the apps.
    again = build_images(["postgres"], docker_env={}, runner=docker.runner)["postgres"]
    assert again.ref == built["postgres"].ref
    assert again.reused and again.seconds == 0
