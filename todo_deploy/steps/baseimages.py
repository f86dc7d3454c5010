"""The base images our Dockerfiles build FROM, and how each is found.

In order: the official image on the engine; an equivalent already under the base's stand-in tag
(`docker tag <image> todo-base-python:3.11-bookworm`, or one this suite built); the official
image pulled; else, on a root Debian/Ubuntu machine that reaches its packages but no registry,
a stand-in built here from Debian packages (todo_deploy/steps/standins.py), announced first. Where
none of these works, one message names the images and the way out.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from todo_deploy.base.engine import DockerCli
from todo_deploy.steps import standins


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
    """A base image is neither on the engine nor pullable nor buildable here."""


def selected(only: Collection[str] | None = None) -> list[BaseImage]:
    return list(BASES) if only is None else [b for b in BASES if b.arg in only]


def present(docker: DockerCli, base: BaseImage) -> str | None:
    """The ref to build from when the engine already has one: the official image first."""
    if docker.image_id(base.official):
        return base.official
    if standins.is_current(docker, base.stand_in):
        return base.stand_in
    return None


def pull(docker: DockerCli, ref: str) -> str | None:
    """None when `ref` was pulled, else the engine's reason (its last line of output)."""
    result = docker.run("pull", ref, step=f"pull {ref}", check=False, timeout=300)
    if result.ok or docker.runner.dry_run:
        return None
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1].removeprefix("Error response from daemon: ") if lines else "no reason given"


def ensure_base_images(docker: DockerCli, *, only: Collection[str] | None = None) -> dict[str, str]:
    """Build args naming the base for each ARG (or those in `only`): found, pulled or built."""
    chosen: dict[str, str] = {}
    missing: list[BaseImage] = []
    why = ""
    for base in selected(only):
        ref = present(docker, base)
        if ref is None:
            failed = pull(docker, base.official)
            ref, why = (base.official, why) if failed is None else (None, failed)
        if ref is None:
            missing.append(base)
        else:
            chosen[base.arg] = ref
    if missing:
        chosen.update(_build_stand_ins(docker, missing, why))
    return chosen


def _build_stand_ins(docker: DockerCli, missing: list[BaseImage], why: str) -> dict[str, str]:
    wanted = [standins.Wanted(b.arg, b.stand_in) for b in missing]
    reason = standins.why_not(wanted)
    if reason:
        raise BaseImageError(f"{_cannot_pull(missing, why)} (not built here: {reason})")
    printer = docker.runner.printer
    printer(standins.plan(wanted, _officials(missing), why))
    try:
        seconds = standins.build(docker, wanted)
    except Exception as exc:  # a failed debootstrap or npm pack: name it, keep the way out
        failed = f"building stand-in base images failed: {exc}. {_way_out(missing)}"
        raise BaseImageError(failed) from exc
    printer(f"Built {', '.join(w.tag for w in wanted)} in {seconds:.0f} s.")
    return {b.arg: b.stand_in for b in missing}


def plan_lines(docker: DockerCli, only: Collection[str] | None = None) -> list[str]:
    """What `ensure_base_images` would do, for a dry run: nothing is pulled or built."""
    lines = []
    for base in selected(only):
        ref = present(docker, base)
        if ref:
            lines.append(f"{base.arg}: {ref} (on the engine)")
            continue
        reason = standins.why_not([standins.Wanted(base.arg, base.stand_in)])
        fallback = (
            f"else this machine cannot build a stand-in ({reason})"
            if reason
            else f"else build {base.stand_in} from Debian packages ({standins.FIRST_BUILD} "
            "the first time)"
        )
        lines.append(f"{base.arg}: pull {base.official}, {fallback}")
    return lines


def _officials(bases: list[BaseImage]) -> list[str]:
    return sorted({b.official for b in bases})


def _way_out(missing: list[BaseImage]) -> str:
    tags = "; ".join(f"docker tag <image> {b.stand_in}" for b in missing)
    return (
        f"Check the engine reaches Docker Hub or its registry mirror (`docker pull "
        f"{missing[0].official}`). Offline, give it an equivalent image under the stand-in "
        f"tag: {tags}"
    )


def _cannot_pull(missing: list[BaseImage], why: str) -> str:
    names = ", ".join(_officials(missing))
    return f"the engine could not pull the base images {names} ({why}). {_way_out(missing)}"
