"""`invoke dev` settings: loopback URLs, a SQLite file under .dev/, secrets stable across runs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from todo_deploy.devserver import dev_env, dev_secrets, dev_services


def test_dev_secrets_are_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = dev_secrets(tmp_path / ".dev")
    second = dev_secrets(tmp_path / ".dev")
    assert first == second  # better-auth's JWKS keys stay readable across restarts
    assert len(first["BETTER_AUTH_SECRET"]) >= 32
    assert (tmp_path / ".dev" / "secrets.env").stat().st_mode & 0o077 == 0


def test_dev_env_points_every_service_at_loopback_and_sqlite(tmp_path: Path) -> None:
    env = dev_env(tmp_path, {"BETTER_AUTH_SECRET": "x" * 32, "MCP_API_TOKEN": "t" * 32})
    assert env["DATABASE_URL"] == f"sqlite:///{(tmp_path / '.dev' / 'todo.db').resolve()}"
    for key in ("AUTH_JWKS_URL", "MCP_SERVER_URL", "BETTER_AUTH_URL", "BACKEND_URL"):
        assert urlsplit(env[key]).hostname == "127.0.0.1", key
    ports = {s.name: urlsplit(s.url).port for s in dev_services(tmp_path)}
    assert ports == {"backend": 8000, "mcp": 8001, "frontend": 3000}
