"""The services' PostgreSQL roles, against a real server: each reaches only what it uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import yaml
from fastapi.testclient import TestClient

from todo_backend.app import create_app
from todo_backend.db.roles import (
    BACKEND,
    FRONTEND,
    LOGIN_URLS,
    MCP,
    RoleError,
    logins_from_env,
)
from todo_backend.migrate import upgrade

SERVICES = (BACKEND, MCP, FRONTEND)
COMPONENTS = Path(__file__).parents[2] / "helm/todo-app/components.yaml"


def as_role(url: str, role: str) -> str:
    """`url` with `role:<role>-pw` as its user: the passwords the fixture below sets."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}:{role}-pw@{parts.hostname}:{parts.port}"))


@pytest.fixture
def roles_url(postgres_url: str) -> str:
    """A migrated database whose service roles may log in.

    The test server trusts every local connection, so only the role, not the password, is
    proven by connecting; `test_migrate_sets_passwords_...` checks the stored verifier.
    """
    upgrade(postgres_url, {role: f"{role}-pw" for role in SERVICES})
    return postgres_url


def refused(url: str, statement: str) -> bool:
    with psycopg.connect(url, autocommit=True) as connection:
        try:
            connection.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


@pytest.mark.postgres
def test_mcp_role_cannot_read_sessions_or_create_roles(roles_url):
    mcp = as_role(roles_url, MCP)
    assert refused(mcp, "SELECT * FROM session")
    assert refused(mcp, 'SELECT id FROM "user"')
    assert refused(mcp, "SELECT * FROM jwks")
    assert refused(mcp, "SELECT * FROM message")
    assert refused(mcp, "CREATE ROLE x")
    assert refused(mcp, "CREATE TABLE mine (id int)")
    assert not refused(mcp, "INSERT INTO task (user_id, title) VALUES ('u', 'by mcp')")


@pytest.mark.postgres
def test_backend_role_reads_session_ids_never_tokens(roles_url):
    backend = as_role(roles_url, BACKEND)
    assert refused(backend, "SELECT token FROM session")
    assert refused(backend, "SELECT * FROM session")
    assert refused(backend, 'SELECT * FROM "user"')
    assert refused(backend, "DELETE FROM session")
    assert not refused(backend, 'SELECT id, "userId", "expiresAt" FROM session')
    assert not refused(backend, "INSERT INTO conversation (user_id) VALUES ('u')")
    assert not refused(backend, "SELECT version_num FROM alembic_version")


@pytest.mark.postgres
def test_frontend_role_owns_better_auths_tables_only(roles_url):
    frontend = as_role(roles_url, FRONTEND)
    assert not refused(frontend, "SELECT token FROM session")
    assert not refused(frontend, "DELETE FROM jwks")
    assert refused(frontend, "SELECT * FROM task")
    assert refused(frontend, "CREATE ROLE x")


@pytest.mark.postgres
def test_no_service_role_is_privileged(roles_url):
    with psycopg.connect(roles_url) as connection:
        rows = connection.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolcanlogin "
            "FROM pg_roles WHERE rolname = ANY(%s)",
            [list(SERVICES)],
        ).fetchall()
    assert {row[0]: row[1:] for row in rows} == {
        role: (False, False, False, False, True) for role in SERVICES
    }


@pytest.mark.postgres
def test_migrate_sets_passwords_from_the_service_urls(postgres_url):
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "MCP_DATABASE_URL": as_role(postgres_url, MCP),
    }
    result = subprocess.run(
        [sys.executable, "-m", "todo_backend.migrate"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "mcp-pw" not in result.stdout + result.stderr
    with psycopg.connect(postgres_url) as connection:
        stored = connection.execute(
            "SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = %s", [MCP]
        ).fetchone()
    assert stored is not None and stored[0]
    assert stored[1].startswith("SCRAM-SHA-256$")  # hashed client-side, never the plain text
    assert refused(as_role(postgres_url, MCP), "SELECT * FROM session")


def test_a_url_naming_another_role_is_refused():
    with pytest.raises(RoleError, match=r"MCP_DATABASE_URL connects as 'todo'.*'todo_mcp'"):
        logins_from_env({"MCP_DATABASE_URL": "postgresql://todo:pw@db:5432/todo"})
    with pytest.raises(RoleError, match="BACKEND_DATABASE_URL has no password"):
        logins_from_env({"BACKEND_DATABASE_URL": "postgresql://todo_backend@db:5432/todo"})


def test_the_chart_names_the_roles_the_migrations_grant_to():
    components = yaml.safe_load(COMPONENTS.read_text())["components"]
    logins = {
        c["database"]["urlKey"]: c["database"]["role"]
        for c in components.values()
        if "database" in c
    }
    assert logins == LOGIN_URLS


@pytest.mark.postgres
def test_an_owner_without_createrole_migrates_onto_roles_made_for_it(postgres_server, postgres_url):
    """An external database's owner with no CREATEROLE: an administrator made the roles first."""
    owner = f"owner_{urlsplit(postgres_url).path.strip('/')}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        for role in SERVICES:
            admin.execute(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
                f"THEN CREATE ROLE {role} LOGIN; END IF; END $$"
            )
        admin.execute(f"CREATE ROLE {owner} LOGIN")
    database = urlsplit(postgres_url).path.strip("/")
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" OWNER TO {owner}')
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"ALTER SCHEMA public OWNER TO {owner}")
    owner_url = as_role(postgres_url, owner)
    upgrade(owner_url, {role: f"{role}-pw" for role in SERVICES})
    backend = as_role(postgres_url, BACKEND)
    assert refused(backend, "SELECT token FROM session")
    assert not refused(backend, "SELECT id FROM session")


@pytest.mark.postgres
def test_the_app_serves_and_honours_sign_out_as_the_backend_role(
    roles_url, unreachable_settings, make_token
):
    """The whole request path, the per-request session lookup included, needs no more rights."""
    settings = unreachable_settings.model_copy(update={"database_url": as_role(roles_url, BACKEND)})
    token = make_token("alice")
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        assert client.get("/ready").status_code == 200
        created = client.post(
            "/api/alice/tasks", json={"title": "as the back end"}, headers=headers
        )
        assert created.status_code == 201, created.text
        with psycopg.connect(roles_url, autocommit=True) as owner:
            owner.execute("DELETE FROM session")  # sign-out, as better-auth does it
        assert client.get("/api/alice/tasks", headers=headers).status_code == 401
