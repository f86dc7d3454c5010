"""The real host cluster, brought up once per session and left as it was found."""

from __future__ import annotations

import os
import platform
import shutil
import time
from collections.abc import Iterator

import pytest

from tests.support.require import require
from todo_deploy.base.config import DeployConfig
from todo_deploy.base.run import Runner
from todo_deploy.providers.host import HostProvider


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, float]]:
    collected: dict[str, float] = {}
    yield collected
    print("\nhost cluster figures:")
    for name, value in collected.items():
        print(f"  {name}: {value:.1f} s")


@pytest.fixture(scope="session")
def host(figures) -> Iterator[HostProvider]:
    require(platform.system() == "Linux" and os.geteuid() == 0, "root on Linux")
    require(shutil.which("go") is not None, "a Go toolchain (to build Kubernetes)")
    provider = HostProvider(DeployConfig(provider="host"), Runner())
    was_running = provider.status().running
    started = time.monotonic()
    provider.up()
    figures["first up (this session)"] = time.monotonic() - started
    yield provider
    if not was_running:
        provider.down()
