"""Every route in the app's OpenAPI schema is checked, including routes added later: only the
probes are public; every other one answers 401 without a token and 403 with someone else's."""

from __future__ import annotations

import re

PUBLIC = {("GET", "/health"), ("GET", "/ready")}
SAMPLE_VALUES = {"user_id": "alice", "task_id": "1"}


def _routes(app) -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation the schema documents."""
    paths = app.openapi()["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() for method in ops)


def _concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: SAMPLE_VALUES[m.group(1)], path)


def test_only_the_probes_are_public(client):
    guarded = [r for r in _routes(client.app) if r not in PUBLIC]
    assert len(guarded) >= 7, f"the route table looks wrong: {guarded}"
    for method, path in guarded:
        response = client.request(method, _concrete(path), json={})
        assert response.status_code == 401, f"{method} {path} without a token: {response}"
        assert response.headers.get("www-authenticate") == "Bearer", f"{method} {path}"
    for method, path in PUBLIC:
        assert client.request(method, path).status_code == 200, f"{method} {path}"


def test_no_route_serves_another_users_data(client, auth):
    guarded = [r for r in _routes(client.app) if r not in PUBLIC]
    assert guarded, "no guarded route found in the schema"
    for method, path in guarded:
        response = client.request(method, _concrete(path), json={}, headers=auth("bob"))
        assert response.status_code == 403, f"{method} {path} as bob on alice's data: {response}"
