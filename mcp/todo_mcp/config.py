"""The MCP server's settings: a few environment variables, each checked at start-up."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from todo_backend.config import describe_validation, normalise_database_url, parse_log_level

# How to fix each setting, shown when it is missing or malformed.
HINTS = {
    "database_url": "set it to postgresql://user:pass@host:5432/db or sqlite:////abs/path.db",
    "mcp_api_token": "set it to the bearer token the back end sends",
    "mcp_allowed_hosts": "set it to a comma list of Host headers, e.g. todo-mcp:8001",
    "port": "set it to a TCP port number, e.g. 8001",
    "log_level": "set it to DEBUG, INFO, WARNING or ERROR",
}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message is one line a user can act on."""


class McpSettings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    database_url: str
    mcp_api_token: SecretStr = Field(min_length=1)
    # Loopback only unless told otherwise: behind a Service, list its name (todo-mcp:8001).
    mcp_allowed_hosts: Annotated[list[str], NoDecode] = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    host: str = "0.0.0.0"
    port: int = Field(default=8001, ge=1, le=65535)
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value.strip())

    @field_validator("mcp_allowed_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            hosts = [host.strip() for host in value.split(",") if host.strip()]
            if not hosts:
                raise ValueError("lists no host")
            return hosts
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        return parse_log_level(value)


def load_settings() -> McpSettings:
    """Read the settings; bad or missing ones become a single ConfigError line naming them."""
    try:
        return McpSettings()
    except ValidationError as error:
        problems = "; ".join(describe_validation(p, HINTS) for p in error.errors())
        raise ConfigError(f"config error: {problems}") from None
