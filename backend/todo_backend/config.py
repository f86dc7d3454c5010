"""The back end's configuration: one typed object read from environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# How to fix each setting, shown when it is missing or malformed.
HINTS = {
    "database_url": "set it to postgresql://user:pass@host:5432/db or sqlite:////abs/path.db",
    "auth_jwks_url": "set it to better-auth's JWKS endpoint, e.g. http://todo-frontend:3000/api/auth/jwks",
    "auth_issuer": "leave it unset: better-auth signs with todo-frontend (docs/contract.md)",
    "auth_audience": "leave it unset: better-auth signs for todo-backend (docs/contract.md)",
    "mcp_server_url": "set it to the MCP server's endpoint, e.g. http://todo-mcp:8001/mcp",
    "mcp_api_token": "set it to the bearer token shared with the MCP server",
    "openai_base_url": "set it to an OpenAI-compatible endpoint, e.g. https://api.openai.com/v1",
    "allowed_origins": "set it to a comma list of origins, e.g. http://todo.local,http://localhost:3000",
    "log_level": "set it to DEBUG, INFO, WARNING or ERROR",
    "max_body_bytes": "set it to a whole number of bytes, e.g. 65536",
    "chat_turns_per_minute": "set it to the chat turns a user may send a minute, e.g. 30",
    "writes_per_minute": "set it to the task and conversation writes a user may make a minute: 120",
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DRIVER_PREFIXES = {"postgresql://": "postgresql+psycopg://", "postgres://": "postgresql+psycopg://"}


class ConfigError(RuntimeError):
    """Settings are missing or malformed; the message is one line a user can act on."""

    def __init__(self, *problems: str) -> None:
        super().__init__("config error: " + "; ".join(problems))


def describe_problem(field: str, issue: str, hints: Mapping[str, str] = HINTS) -> str:
    """'DATABASE_URL is missing: set it to ...': the variable, what is wrong, how to fix it."""
    return f"{field.upper()} {issue}: {hints.get(field, 'check its value')}"


def normalise_database_url(url: str) -> str:
    """Point PostgreSQL URLs at psycopg 3, the one driver we ship; keep SQLite URLs as they are."""
    for prefix, replacement in DRIVER_PREFIXES.items():
        if url.startswith(prefix):
            return replacement + url.removeprefix(prefix)
    if url.startswith(("postgresql+psycopg://", "sqlite://")):
        return url
    raise ValueError("must start with postgresql://, postgres:// or sqlite://")


def database_url_from_env() -> str:
    """DATABASE_URL alone, for processes that need nothing else (migrations, the MCP server)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        raise ConfigError(describe_problem("database_url", "is missing"))
    try:
        return normalise_database_url(url)
    except ValueError as error:
        raise ConfigError(describe_problem("database_url", f"is malformed ({error})")) from None


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    database_url: str = Field(repr=False)  # holds a password
    auth_jwks_url: str
    # Fixed names, never the public URL: a rollout that moves the host must not make old and
    # new pods refuse each other's tokens. The front end's settings.ts holds the same pair.
    auth_issuer: str = Field(default="todo-frontend", min_length=1)
    auth_audience: str = Field(default="todo-backend", min_length=1)
    mcp_server_url: str
    mcp_api_token: SecretStr = Field(min_length=1)
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    allowed_origins: Annotated[list[str], NoDecode] = []
    log_level: str = "INFO"
    # /docs, /redoc and /openapi.json: on for `invoke dev` (API_DOCS=true), off in the cluster,
    # where they would map the API for anyone who reaches it.
    api_docs: bool = False
    # The largest request body read (bytes): the chart's limits.bodyBytes, the same number the
    # ingress and the front end hold to.
    max_body_bytes: int = Field(default=65536, gt=0)
    # Per-user limits, counted in the shared database so they hold across replicas: the chart's
    # limits.chatTurnsPerMinute and limits.writesPerMinute (values.yaml says why these numbers).
    chat_turns_per_minute: int = Field(default=30, gt=0)
    writes_per_minute: int = Field(default=120, gt=0)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value.strip())

    @field_validator("auth_jwks_url", "mcp_server_url", "openai_base_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value.strip())

    @field_validator("openai_api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Charts often render optional variables as empty strings.
        return None if value == "" else value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        return parse_log_level(value)


def parse_log_level(value: str) -> str:
    """A log level name, case-insensitive; shared with the MCP server's settings."""
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def load_settings() -> Settings:
    """Read the settings, turning validation errors into one ConfigError line."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError(*(describe_validation(p) for p in error.errors())) from None


def describe_validation(problem: Any, hints: Mapping[str, str] = HINTS) -> str:
    """One pydantic validation error as `describe_problem` words it (the MCP server's too)."""
    field = str(problem["loc"][0]) if problem["loc"] else "settings"
    if problem["type"] == "missing":
        return describe_problem(field, "is missing", hints)
    reason = problem["msg"].removeprefix("Value error, ")
    return describe_problem(field, f"is malformed ({reason})", hints)
