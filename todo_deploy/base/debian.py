"""Install missing Debian packages when we may (root on a Debian-like host), else explain.

The suite and its test sessions need a few system programs (PostgreSQL for the back-end tests,
Chromium for the browser tests, ...). A fresh machine has none of them, so the suite installs
them itself instead of relying on steps only CI knows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from todo_deploy.base.run import Runner


class MissingPackages(RuntimeError):
    pass


def _present(program: str) -> bool:
    if "/" in program or "*" in program:
        return any(Path("/").glob(program.lstrip("/")))
    return shutil.which(program) is not None


def can_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def ensure_packages(runner: Runner, wanted: Mapping[str, str]) -> list[str]:
    """Make each program (a command name or a path glob) present, installing its package.

    `wanted` maps program -> Debian package. Returns the packages installed (empty when all
    were present). Raises MissingPackages naming what to install when we cannot install.
    """
    missing = sorted({pkg for program, pkg in wanted.items() if not _present(program)})
    if not missing:
        return []
    if not can_install():
        raise MissingPackages(
            f"missing programs: install the packages {' '.join(missing)} "
            f"(e.g. `sudo apt-get install -y {' '.join(missing)}`)"
        )
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    runner.run(["apt-get", "update", "-qq"], step="apt-get update", env=env, timeout=600)
    runner.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        step=f"install {' '.join(missing)}",
        env=env,
        timeout=1200,
    )
    return missing
