"""`invoke dev` for real: three local services on SQLite, driven by a browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.browser import App, chromium
from tests.support.require import require
from tests.support.signals import default_sigint, stop_group
from tests.support.ui_checks import journey

ROOT = Path(__file__).resolve().parents[2]
APP = "http://localhost:3000"
HEALTH = ("http://127.0.0.1:8000/health", "http://127.0.0.1:8001/health", f"{APP}/api/health")
PORTS = (3000, 8000, 8001)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]


def _wait_for(urls: tuple[str, ...], proc: subprocess.Popen, deadline: float) -> None:
    pending = list(urls)
    while pending:
        assert proc.poll() is None, "invoke dev exited before its services answered"
        assert time.monotonic() < deadline, f"not answering: {pending}"
        try:
            if requests.get(pending[0], timeout=5).status_code == 200:
                pending.pop(0)
                continue
        except requests.RequestException:
            pass
        time.sleep(1)


def _ports_in_use() -> list[int]:
    busy = []
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    return busy


@pytest.fixture(scope="module")
def dev_stack() -> Iterator[str]:
    # Another stack on these ports would answer in place of ours and the checks would test it.
    busy = _ports_in_use()
    assert not busy, f"ports {busy} are taken: stop the other `invoke dev` (or its leftovers)"
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "dev"],
        cwd=ROOT,
        start_new_session=True,
        preexec_fn=default_sigint,
        env={**os.environ, "NEXT_TELEMETRY_DISABLED": "1"},
    )
    try:
        _wait_for(HEALTH, proc, time.monotonic() + 600)
        # `next dev` compiles each page on its first request: do it before the browser's clock.
        for path in ("/sign-up", "/tasks", "/sign-in"):
            requests.get(APP + path, timeout=300)
        yield APP
    finally:
        stop_group(proc, grace=30)


@pytest.fixture(scope="module")
def app(dev_stack: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    require(Path("/usr/bin/chromium").exists(), "Chromium is not installed")
    with chromium(dev_stack) as browser:
        yield App(browser, dev_stack, tmp_path_factory.mktemp("screenshots"))


def test_the_journey_in_the_browser(app: App) -> None:
    # The journey proves the local loop end to end (sign-up, tasks, the assistant, a reload, a
    # second sign-in). Every other UI check is about the same front-end code: they run once,
    # on the production build through the ingress (tests/e2e), where people meet it.
    journey(app)
