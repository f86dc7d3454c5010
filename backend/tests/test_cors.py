"""CORS: only the origins in ALLOWED_ORIGINS may call the API from a browser."""

from __future__ import annotations

from fastapi.testclient import TestClient

from todo_backend.app import create_app

PREFLIGHT = {
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization",
}


def preflight(client: TestClient, origin: str):
    return client.options("/api/alice/tasks", headers={"Origin": origin, **PREFLIGHT})


def test_cors_allows_only_configured_origins(settings, migrated_url):
    settings = settings.model_copy(update={"allowed_origins": ["http://todo.local"]})
    with TestClient(create_app(settings)) as client:
        allowed = preflight(client, "http://todo.local")
        refused = preflight(client, "http://evil.example")
    assert allowed.headers["access-control-allow-origin"] == "http://todo.local"
    assert "access-control-allow-origin" not in refused.headers
