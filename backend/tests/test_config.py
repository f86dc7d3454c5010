"""Start-up configuration: one clear line for a bad setting, URLs normalised, secrets hidden."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from todo_backend.config import Settings, normalise_database_url

REQUIRED = {
    "DATABASE_URL": "postgresql://todo:hunter2@127.0.0.1:5432/todo",
    "AUTH_JWKS_URL": "http://127.0.0.1:3000/api/auth/jwks",
    "MCP_SERVER_URL": "http://127.0.0.1:8001/mcp",
    "MCP_API_TOKEN": "mcp-secret-token",
}


def start_uvicorn(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Start the server as the image does; with bad settings it must stop before serving."""
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED and k != "LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, "-m", "uvicorn", "todo_backend.main:app", "--port", "0"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {k: v for k, v in REQUIRED.items() if k != "DATABASE_URL"},
            "config error: DATABASE_URL is missing: set it to postgresql://",
        ),
        (
            {**REQUIRED, "DATABASE_URL": "mysql://todo@db/todo"},
            "config error: DATABASE_URL is malformed (must start with postgresql://",
        ),
        (
            {**REQUIRED, "AUTH_JWKS_URL": "todo-frontend:3000"},
            "config error: AUTH_JWKS_URL is malformed (must be an http:// or https:// URL)",
        ),
        (
            {**REQUIRED, "LOG_LEVEL": "chatty"},
            "config error: LOG_LEVEL is malformed (must be one of DEBUG",
        ),
    ],
    ids=["missing", "wrong-scheme", "not-a-url", "bad-level"],
)
def test_bad_setting_stops_start_up_with_one_line(env, line):
    result = start_uvicorn(env)
    assert result.returncode != 0
    assert result.stderr.startswith(line)
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_several_missing_settings_share_the_line():
    result = start_uvicorn({})
    assert result.stderr.count("\n") == 1
    for variable in REQUIRED:
        assert f"{variable} is missing" in result.stderr


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgres://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////tmp/todo.db", "sqlite:////tmp/todo.db"),
    ],
)
def test_database_urls_use_psycopg_3(given, expected):
    assert normalise_database_url(given) == expected


def test_settings_parse_lists_and_hide_secrets(monkeypatch):
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALLOWED_ORIGINS", "http://todo.local, http://localhost:3000,")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    settings = Settings()
    assert settings.allowed_origins == ["http://todo.local", "http://localhost:3000"]
    assert settings.openai_api_key is None
    assert settings.openai_model == "gpt-4o-mini"
    assert "hunter2" not in repr(settings)
    assert "mcp-secret-token" not in repr(settings)
