"""The base images our Dockerfiles build FROM: the official ones, pulled by the engine.

A machine whose engine cannot reach a registry may provide an equivalent under each base's
stand-in tag (`docker tag <image> todo-base-python:3.11-bookworm`, or the CI's own, built from
Debian packages by tests/support/baseimages.py); it is used when the official image is absent.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from todo_deploy.engine import DockerCli


@dataclass(frozen=True)
class BaseImage:
    arg: str  # the Dockerfile ARG that names it
    official: str
    stand_in: str  # the tag an equivalent image may have on an engine that cannot pull


BASES = (
    BaseImage("DEBIAN_IMAGE", "debian:bookworm-slim", "todo-base-debian:bookworm"),
    BaseImage("PYTHON_IMAGE", "python:3.11-slim", "todo-base-python:3.11-bookworm"),
    BaseImage("NODE_IMAGE", "node:20-slim", "todo-base-node:20-bookworm"),
    BaseImage("NODE_RUNTIME_IMAGE", "node:20-slim", "todo-base-node-runtime:20-bookworm"),
)


class BaseImageError(RuntimeError):
    """A base image is neither on the engine nor pullable."""


def selected(only: Collection[str] | None = None) -> list[BaseImage]:
    return list(BASES) if only is None else [b for b in BASES if b.arg in only]


def present(docker: DockerCli, base: BaseImage) -> str | None:
    """The ref to build from when the engine already has one: the official image first."""
    for ref in (base.official, base.stand_in):
        if docker.image_id(ref):
            return ref
    return None


def pull(docker: DockerCli, ref: str) -> bool:
    result = docker.run("pull", ref, step=f"pull {ref}", check=False, timeout=300)
    return result.ok or docker.runner.dry_run


def ensure_base_images(docker: DockerCli, *, only: Collection[str] | None = None) -> dict[str, str]:
    """Build args naming the base for each ARG (or those in `only`), pulling what is missing."""
    chosen: dict[str, str] = {}
    missing: list[BaseImage] = []
    for base in selected(only):
        ref = present(docker, base)
        if ref is None and pull(docker, base.official):
            ref = base.official
        if ref is None:
            missing.append(base)
        else:
            chosen[base.arg] = ref
    if missing:
        raise BaseImageError(_cannot_pull(missing))
    return chosen


def _cannot_pull(missing: list[BaseImage]) -> str:
    names = ", ".join(sorted({b.official for b in missing}))
    tags = "; ".join(f"docker tag <image> {b.stand_in}" for b in missing)
    return (
        f"the engine could not pull the base images {names} (the docker pull output is above): "
        "check it reaches Docker Hub or its registry mirror (`docker pull "
        f"{missing[0].official}`). Offline, give it an equivalent image under the stand-in "
        f"tag: {tags}"
    )
