"""The services' PostgreSQL roles: names, and giving each its login from its own URL.

The role that runs the migrations (DATABASE_URL's user) owns the schema; each service connects
as its own role with only the rights it uses (revision 0004 grants them, docs/database-roles.md
lists them). The names are fixed, not configurable, because the migrations grant to them; the
chart's components.yaml names the same roles (tests/unit checks they agree).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection

log = logging.getLogger(__name__)

BACKEND = "todo_backend"
MCP = "todo_mcp"
FRONTEND = "todo_frontend"
# The variable holding each service's URL, as the migrate init container receives it.
LOGIN_URLS = {
    "BACKEND_DATABASE_URL": BACKEND,
    "MCP_DATABASE_URL": MCP,
    "FRONTEND_DATABASE_URL": FRONTEND,
}


CAN_MANAGE_ROLES = "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
ME = "the migrating role (DATABASE_URL's user)"


class RoleError(ValueError):
    """A service URL names the wrong role or has no password; the message says which."""


def logins_from_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """{role: password} from the service URLs that are set (none: a local run, nothing to do)."""
    env = os.environ if env is None else env
    logins = {}
    for variable, role in LOGIN_URLS.items():
        if url := env.get(variable, "").strip():
            logins[role] = _password_for(variable, role, url)
    return logins


def _password_for(variable: str, role: str, url: str) -> str:
    parts = urlsplit(url)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if user != role:
        raise RoleError(
            f"{variable} connects as {user or 'no user'!r}: it must be the role {role!r} "
            f"(postgresql://{role}:PASSWORD@host:5432/db), the one the migrations grant to"
        )
    if not password:
        raise RoleError(f"{variable} has no password: put one in its URL ({role}:PASSWORD@...)")
    return password


def set_logins(connection: Connection, logins: Mapping[str, str]) -> None:
    """Let each role log in with its password, sent only as a SCRAM verifier made here.

    libpq hashes the password client-side (as psql's \\password does), so the plain text never
    appears in a statement the server could log. Run on every migration: a rotated password in
    the Secret takes effect at the next back-end rollout.
    """
    if not connection.exec_driver_sql(CAN_MANAGE_ROLES).scalar():
        # An external owner without CREATEROLE: an administrator made the roles and set their
        # passwords (docs/database-roles.md); failing here would stop every rollout.
        log.warning("%s may not alter roles: leaving the services' passwords as they are", ME)
        return
    pgconn = connection.connection.driver_connection.pgconn  # type: ignore[union-attr]
    for role, password in logins.items():
        verifier = pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
        # The names are this module's constants and a verifier is base64 and `$:`: no quoting.
        connection.exec_driver_sql(f"ALTER ROLE {role} WITH LOGIN PASSWORD '{verifier.decode()}'")
        log.info("role %s may log in", role)
