"""The front end's dev proxy forwards exactly the back end's route groups under /api/{userId}/."""

from __future__ import annotations

import json
import re
from pathlib import Path

from todo_backend.app import create_app
from todo_backend.config import Settings

PROXY = Path(__file__).resolve().parents[2] / "frontend/src/lib/server/backend-proxy.ts"


def proxied_groups() -> set[str]:
    found = re.search(r"BACKEND_ROUTES = (\[[^\]]*\])", PROXY.read_text())
    assert found, f"{PROXY} declares no BACKEND_ROUTES"
    return set(json.loads(found.group(1)))


def backend_groups() -> set[str]:
    settings = Settings(
        database_url="sqlite:////nonexistent/todo.db",
        auth_jwks_url="http://127.0.0.1:9/jwks",
        mcp_server_url="http://127.0.0.1:9/mcp",
        mcp_api_token="unused",
    )
    prefix = "/api/{user_id}/"
    paths = list(create_app(settings).openapi()["paths"])  # every route the app serves
    return {p.removeprefix(prefix).split("/")[0] for p in paths if p.startswith(prefix)}


def test_the_dev_proxy_forwards_the_back_ends_route_groups_and_no_other() -> None:
    assert proxied_groups() == backend_groups()
