"""The running server logs JSON lines only, uvicorn's access log included, and never a token."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from todo_backend.logs import redact


@pytest.fixture
def server(migrated_url, jwks, unused_port, spawn):
    """`uvicorn todo_backend.main:app` as the image starts it, on 127.0.0.1; yields (url, log)."""
    env = {
        "DATABASE_URL": migrated_url,
        "AUTH_JWKS_URL": jwks.url,
        "MCP_SERVER_URL": "http://127.0.0.1:9/mcp",
        "MCP_API_TOKEN": "mcp-secret-token",
        "LOG_LEVEL": "INFO",
    }
    argv = ["uvicorn", "todo_backend.main:app", "--host", "127.0.0.1", "--port", str(unused_port)]
    log = spawn(argv, env, unused_port)
    return f"http://127.0.0.1:{unused_port}", log


def test_logs_are_json_lines_without_tokens(server, make_token):
    url, log = server
    token = make_token("alice")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{url}/api/alice/tasks", headers=headers).status_code == 200
    # A token in a query string must not leak through the access log either.
    httpx.get(f"{url}/api/alice/tasks", params={"token": token}, headers={"Authorization": "x"})
    time.sleep(0.3)

    text = log.read_text()
    assert token not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    access = [entry for entry in entries if entry.get("path", "").startswith("/api/")]
    assert {"method": "GET", "path": "/api/alice/tasks", "status": 200}.items() <= (
        access[0].items()
    )
    assert access[1]["path"] == "/api/alice/tasks?token=[redacted]"


def test_redact_hides_bearer_credentials_and_jwts():
    line = 'auth "Bearer abc.def-ghi" and eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl done'
    assert redact(line) == 'auth "Bearer [redacted]" and [redacted] done'


def test_info_logs_carry_no_sql_parameters_or_tool_arguments(server, make_token):
    # The deployed level: what a user typed (a task title, a tool's arguments) stays out of the
    # log, whether SQLAlchemy (its engine logs statements and parameters at INFO) or the agent
    # and its MCP client would write it.
    url, log = server
    headers = {"Authorization": f"Bearer {make_token('alice')}"}
    task = httpx.post(f"{url}/api/alice/tasks", json={"title": "zebra-title-1"}, headers=headers)
    assert task.status_code == 201
    httpx.post(f"{url}/api/alice/chat", json={"message": "add zebra-tool-2"}, headers=headers)
    time.sleep(0.3)
    text = log.read_text()
    assert "zebra-title-1" not in text
    assert "zebra-tool-2" not in text
    assert "INSERT INTO" not in text
