"""Settings: defaults, the comma list of hosts, and one clear line for bad or missing values."""

from __future__ import annotations

import pytest

from todo_mcp.config import ConfigError, load_settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("DATABASE_URL", "MCP_API_TOKEN", "MCP_ALLOWED_HOSTS", "PORT", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_reads_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATABASE_URL", "postgresql://todo:pw@db:5432/todo")
    env.setenv("MCP_API_TOKEN", "secret")
    env.setenv("MCP_ALLOWED_HOSTS", "todo-mcp:8001, localhost:8001")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://todo:pw@db:5432/todo"
    assert settings.mcp_allowed_hosts == ["todo-mcp:8001", "localhost:8001"]
    assert (settings.port, settings.log_level) == (8001, "INFO")


def test_missing_settings_make_one_line_naming_them(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert "\n" not in message
    assert "DATABASE_URL is missing" in message and "MCP_API_TOKEN is missing" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://x/y"),
        ("PORT", "70000"),
        ("LOG_LEVEL", "LOUD"),
        ("MCP_API_TOKEN", ""),
    ],
)
def test_malformed_settings_are_named(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv("DATABASE_URL", "sqlite:////tmp/x.db")
    env.setenv("MCP_API_TOKEN", "secret")
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=f"config error: {name} is malformed"):
        load_settings()
