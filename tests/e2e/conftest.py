"""Fixtures of the end-to-end run: the real cluster, the deployed app, the figures."""

from __future__ import annotations

import os

import pytest

from tests.e2e.figures import Figures
from tests.support.stack import BUILD, Stack
from todo_deploy.base.config import DeployConfig
from todo_deploy.base.kube import Kube
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.providers import get_provider


@pytest.fixture(scope="session")
def figures():
    collected = Figures()
    yield collected
    collected.write(BUILD)
    print("\n" + collected.markdown())


@pytest.fixture(scope="session")
def stack() -> Stack:
    config = DeployConfig(provider=os.environ.get("E2E_PROVIDER", "auto"))
    runner = Runner()
    tools = Tools(runner)
    provider = get_provider(config, runner, tools)
    kube = Kube(runner, str(tools.kubectl), provider.kube_context or None, config.namespace)
    return Stack(config, provider, kube, provider.ingress(config.ingress_host))
