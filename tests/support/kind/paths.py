"""Where the kind test support keeps its cache, binaries and timing records."""

from __future__ import annotations

import fcntl
import functools
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from todo_deploy.base import paths as suite_paths

# A folder every user can read: the CI's non-root user puts it on PATH (root's cache is 0700).
DEFAULT_BIN_DIR = Path("/opt/todo-ci/bin")
COLD_RECORD = "cold-seconds.json"
P = ParamSpec("P")
R = TypeVar("R")


def cache_dir() -> Path:
    """Everything built for kind in CI, under the suite's cache (`$TODO_DEPLOY_CACHE`)."""
    return suite_paths.cache_root() / "kind"


def bin_dir() -> Path:
    """Where built programs are installed for other users: `$TODO_CI_BIN`, else /opt/todo-ci/bin."""
    override = os.environ.get("TODO_CI_BIN")
    return Path(override) if override else DEFAULT_BIN_DIR


def cold_seconds() -> dict[str, float]:
    """Seconds each piece took when it was last built cold (kept next to the cache)."""
    try:
        return json.loads((cache_dir() / COLD_RECORD).read_text())
    except (OSError, ValueError):
        return {}


def record_cold(piece: str, seconds: float) -> None:
    cache_dir().mkdir(parents=True, exist_ok=True)
    record = {**cold_seconds(), piece: round(seconds, 1)}
    (cache_dir() / COLD_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True))


_lock_depth = {"held": 0}  # re-entrant within a process: builds call builds


@contextmanager
def build_lock() -> Iterator[None]:
    """One build at a time per machine: parallel runs would share build containers, work
    folders and image tags. Waits for the other run instead."""
    if _lock_depth["held"]:
        _lock_depth["held"] += 1
        try:
            yield
        finally:
            _lock_depth["held"] -= 1
        return
    cache_dir().mkdir(parents=True, exist_ok=True)
    with (cache_dir() / "build.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _lock_depth["held"] = 1
        try:
            yield
        finally:
            _lock_depth["held"] = 0
            fcntl.flock(handle, fcntl.LOCK_UN)


def locked(build: Callable[P, R]) -> Callable[P, R]:
    """Run `build` under build_lock()."""

    @functools.wraps(build)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with build_lock():
            return build(*args, **kwargs)

    return run
