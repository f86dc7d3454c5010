"""ensure_engine: answers when an engine runs, explains when the one asked for does not."""

from __future__ import annotations

import pytest

from todo_deploy.base.engine import EngineError, engine_answers, ensure_engine
from todo_deploy.base.run import Runner


@pytest.mark.docker
@pytest.mark.timeout(600)  # may install docker.io and start dockerd first
def test_engine_answers_after_ensure_engine(docker) -> None:
    # The `docker` fixture ran ensure_engine (starting dockerd when none ran).
    assert engine_answers()
    assert "answers" in ensure_engine(Runner())


def test_unreachable_docker_host_is_explained_not_started(monkeypatch, tmp_path) -> None:
    missing = f"unix://{tmp_path}/no-engine.sock"
    monkeypatch.setenv("DOCKER_HOST", missing)
    runner = Runner()
    with pytest.raises(EngineError, match="does not answer"):
        ensure_engine(runner)
    assert runner.history == [], "nothing may be installed or started for a foreign engine"
