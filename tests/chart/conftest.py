"""Shared fixtures of the chart tests: a cached renderer (the pinned tools: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from todo_deploy.base.tools import Tools
from todo_deploy.steps import manifests


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "helm_lint: helm lint of the chart (nox -s helm_lint)")


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
