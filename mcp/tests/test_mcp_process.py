"""`python -m todo_mcp` as the image runs it: JSON log lines, and the token never in them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t"}},
}


def test_entry_point_logs_json_without_the_token(
    database_url: str, token: str, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {
        "DATABASE_URL": database_url,
        "MCP_API_TOKEN": token,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "DEBUG",
    }
    log = tmp_path / "mcp.log"
    with log.open("wb") as output:  # a file, not a pipe: a full pipe would stall the server
        process = subprocess.Popen(
            [sys.executable, "-m", "todo_mcp"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/health")
        headers = {"Accept": "application/json, text/event-stream"}
        for auth in (f"Bearer {token}", f"Bearer {token}x"):
            httpx.post(f"{base}/mcp", json=INITIALIZE, headers=headers | {"Authorization": auth})
    finally:
        process.terminate()
        process.wait(timeout=10)
    text = log.read_text()
    entries = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert any(entry["message"].startswith("refused a request") for entry in entries)
    assert token not in text


def _wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def test_bad_settings_stop_start_up_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MCP_API_TOKEN")}
    result = subprocess.run(
        [sys.executable, "-m", "todo_mcp"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.startswith("config error: DATABASE_URL is missing")
    assert result.stderr.count("\n") == 1
