"""`/health` answers without the database; `/ready` only when the schema is at head."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from todo_backend.app import create_app
from todo_backend.db.schema import script_head
from todo_backend.migrate import upgrade


def client_for(settings, database_url: str) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={"database_url": database_url})))


def test_health_needs_no_database(unreachable_settings):
    with TestClient(create_app(unreachable_settings)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_follows_the_migrations(settings, database_url):
    with client_for(settings, database_url) as client:
        before = client.get("/ready")
        assert before.status_code == 503
        assert before.json()["reason"] == f"schema at no revision, expected {script_head()}"
        upgrade(database_url)
        after = client.get("/ready")
    assert after.status_code == 200
    assert after.json() == {"status": "ready", "revision": script_head()}


def test_ready_without_database_is_503(unreachable_settings):
    with TestClient(create_app(unreachable_settings)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("database unreachable")


@pytest.mark.postgres
def test_pooled_connections_survive_a_database_restart(
    unreachable_settings, postgres_url, postgres_server, auth
):
    """Killing every server-side session (what a DB pod restart does) costs no failed request."""
    upgrade(postgres_url)
    database = postgres_url.rsplit("/", 1)[1]
    with client_for(unreachable_settings, postgres_url) as client:
        assert client.get("/api/alice/tasks", headers=auth("alice")).status_code == 200
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        assert client.get("/api/alice/tasks", headers=auth("alice")).status_code == 200
        assert client.get("/ready").status_code == 200


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_api_docs_are_off_unless_asked(settings, path):
    """The deployed back end maps nothing for strangers; `invoke dev` asks for the docs."""
    assert TestClient(create_app(settings)).get(path).status_code == 404
    asked = settings.model_copy(update={"api_docs": True})
    assert TestClient(create_app(asked)).get(path).status_code == 200
