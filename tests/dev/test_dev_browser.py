"""`invoke dev` for real: three local services on SQLite, driven by a browser."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.browser import run_journey

ROOT = Path(__file__).resolve().parents[2]
APP = "http://localhost:3000"
HEALTH = ("http://127.0.0.1:8000/health", "http://127.0.0.1:8001/health", f"{APP}/api/health")

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


@pytest.fixture
def dev_stack():
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "dev"], cwd=ROOT, start_new_session=True,
        env={**os.environ, "NEXT_TELEMETRY_DISABLED": "1"},
    )  # fmt: skip
    try:
        _wait_for(HEALTH, proc, time.monotonic() + 600)
        # `next dev` compiles each page on its first request: do it before the browser's clock.
        for path in ("/sign-up", "/tasks", "/sign-in"):
            requests.get(APP + path, timeout=300)
        yield APP
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_sign_up_add_complete_and_chat_in_the_browser(dev_stack, tmp_path, require):
    require(Path("/usr/bin/chromium").exists(), "Chromium is not installed")
    run_journey(dev_stack, tmp_path)
