"""The unit tests' fixture: a Harness over the fakes of tests/support/fakes.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from tests.support.fakes import (
    SECRET_ENV,
    FakeBuilder,
    FakeExec,
    Harness,
    healthy_cluster,
    write_project,
)
from todo_deploy.base.run import Runner
from todo_deploy.providers import minikube


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    # Values kept by a data-keeping teardown go to the user's state directory: here, tmp.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    # A laptop's user, not CI's root: minikube refuses root unless minikube.force is set.
    monkeypatch.setattr(minikube, "current_euid", lambda: 1000)
    fake = healthy_cluster(FakeExec())
    printed: list[str] = []
    out = io.StringIO()
    runner = Runner(
        execute=fake, spawner=fake.spawn, printer=printed.append, base_env={"PATH": "/usr/bin"}
    )
    console = Console(file=out, width=200, highlight=False)
    return Harness(fake, runner, printed, out, console, FakeBuilder(), write_project(tmp_path))
