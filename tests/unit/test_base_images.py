"""Which base image a build uses: the official one, present or pulled, else a stand-in by tag."""

from __future__ import annotations

import pytest

from tests.support.fakes import Harness
from todo_deploy.baseimages import BaseImageError, ensure_base_images
from todo_deploy.engine import DockerCli

ID = "{{.Id}}"


def _docker(h: Harness, *present: str) -> DockerCli:
    h.fake.on("docker", "image", "inspect", rc=1, stderr="No such image")
    for ref in present:
        h.fake.on("docker", "image", "inspect", "--format", ID, ref, stdout="sha256:1\n")
    return DockerCli(h.runner)


def test_the_official_image_is_used_when_present_or_pulled(harness: Harness) -> None:
    h = harness
    docker = _docker(h, "python:3.11-slim")
    assert ensure_base_images(docker, only={"PYTHON_IMAGE", "DEBIAN_IMAGE"}) == {
        "PYTHON_IMAGE": "python:3.11-slim",
        "DEBIAN_IMAGE": "debian:bookworm-slim",
    }
    assert [line for line in h.fake.lines if "pull" in line] == ["docker pull debian:bookworm-slim"]


def test_a_stand_in_is_used_only_when_the_official_image_is_absent(harness: Harness) -> None:
    h = harness
    docker = _docker(h, "todo-base-python:3.11-bookworm")
    assert ensure_base_images(docker, only={"PYTHON_IMAGE"}) == {
        "PYTHON_IMAGE": "todo-base-python:3.11-bookworm"
    }
    assert not [line for line in h.fake.lines if "pull" in line]


def test_nothing_pullable_names_the_images_and_the_way_out(harness: Harness) -> None:
    h = harness
    docker = _docker(h)
    h.fake.on("docker", "pull", rc=1, stderr="dial tcp: lookup registry-1.docker.io: no such host")
    with pytest.raises(BaseImageError) as raised:
        ensure_base_images(docker, only={"NODE_IMAGE", "NODE_RUNTIME_IMAGE"})
    message = str(raised.value)
    assert "could not pull the base images node:20-slim " in message
    assert "docker tag <image> todo-base-node:20-bookworm" in message
    assert "docker tag <image> todo-base-node-runtime:20-bookworm" in message
    assert not [line for line in h.fake.lines if "import" in line or "debootstrap" in line]
