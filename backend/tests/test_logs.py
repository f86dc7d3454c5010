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
