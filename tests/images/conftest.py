"""Image tests: the host's Docker engine (started if we may) and the four images, built once."""

from __future__ import annotations

import os

import pytest

from todo_deploy.base.engine import DockerCli, EngineError, ensure_engine
from todo_deploy.base.run import Runner
from todo_deploy.steps.images import SPECS, BuiltImage, build_images, docker_cli

# A cold build of all four images takes minutes on two shared cores.


@pytest.fixture(scope="session")
def runner() -> Runner:
    return Runner()


@pytest.fixture(scope="session")
def docker(runner: Runner) -> DockerCli:
    """The host engine. tests/conftest.py's `require` rule, at session scope: no engine skips on
    a user's machine and fails under CI=true."""
    try:
        print(ensure_engine(runner))
    except EngineError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must provide a Docker engine: {error}")
        pytest.skip(str(error))
    return docker_cli(runner, {})


@pytest.fixture(scope="session")
def built(docker: DockerCli) -> dict[str, BuiltImage]:
    return build_images(list(SPECS), docker_env={}, runner=docker.runner, parallel=True)
