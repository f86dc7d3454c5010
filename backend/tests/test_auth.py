"""Bearer JWTs from better-auth: verified against a real JWKS server; 401, 403 and isolation."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from todo_backend.app import create_app
from todo_backend.auth import TokenVerifier


def test_no_token_is_401(client):
    response = client.get("/api/alice/tasks")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9."],
    ids=["garbage", "alg-none"],
)
def test_malformed_token_is_401(client, token):
    response = client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_expired_token_is_401(client, make_token):
    token = make_token("alice", lifetime=-60)
    response = client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_token_without_expiry_is_401(client, jwks):
    token = jwks.sign({"sub": "alice"})
    response = client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_token_signed_by_a_stranger_is_401(client, jwks):
    kid = next(iter(jwks.keys))
    claims = {"sub": "alice", "exp": int(time.time()) + 300}
    forged = jwt.encode(
        claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid}
    )
    response = client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_other_users_token_is_403(client, auth):
    response = client.get("/api/alice/tasks", headers=auth("bob"))
    assert response.status_code == 403


def test_rotated_key_is_fetched_on_unknown_kid_after_cooldown(client, settings, jwks):
    client.app.state.verifier = TokenVerifier(settings, refresh_cooldown=1.0)
    assert client.get("/api/alice/tasks", headers=bearer(jwks, "alice")).status_code == 200
    kid = jwks.add_key()
    try:
        fetched = jwks.requests
        # Within the cooldown an unknown kid is refused without a refetch (forged kids are cheap).
        assert client.get("/api/alice/tasks", headers=bearer(jwks, "alice", kid)).status_code == 401
        assert jwks.requests == fetched
        time.sleep(1.1)
        assert client.get("/api/alice/tasks", headers=bearer(jwks, "alice", kid)).status_code == 200
        assert jwks.requests == fetched + 1
    finally:
        del jwks.keys[kid]


def bearer(jwks, sub: str, kid: str | None = None) -> dict[str, str]:
    token = jwks.sign({"sub": sub, "exp": int(time.time()) + 300}, kid=kid)
    return {"Authorization": f"Bearer {token}"}


def test_issuer_and_audience_are_checked_when_configured(settings, migrated_url, make_token):
    settings = settings.model_copy(
        update={"auth_issuer": "http://todo.local", "auth_audience": "http://todo.local"}
    )
    with TestClient(create_app(settings)) as client:
        good = make_token("alice", iss="http://todo.local", aud="http://todo.local")
        wrong_issuer = make_token("alice", iss="http://evil", aud="http://todo.local")
        wrong_audience = make_token("alice", iss="http://todo.local", aud="http://evil")
        for token, expected in ((good, 200), (wrong_issuer, 401), (wrong_audience, 401)):
            response = client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == expected


def test_unreachable_jwks_is_503_not_a_pass(settings, migrated_url, make_token, unused_port):
    settings = settings.model_copy(
        update={"auth_jwks_url": f"http://127.0.0.1:{unused_port}/api/auth/jwks"}
    )
    with TestClient(create_app(settings)) as client:
        token = make_token("alice")
        response = client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 503


def test_users_never_see_or_change_each_others_tasks(client, auth):
    alice, bob = auth("alice"), auth("bob")
    task = client.post("/api/alice/tasks", json={"title": "secret"}, headers=alice).json()
    path = f"/api/bob/tasks/{task['id']}"

    assert client.get("/api/bob/tasks", headers=bob).json() == []
    assert client.get(path, headers=bob).status_code == 404
    assert client.put(path, json={"title": "mine"}, headers=bob).status_code == 404
    assert client.patch(f"{path}/complete", headers=bob).status_code == 404
    assert client.delete(path, headers=bob).status_code == 404
    # Bob's 404 reads exactly like a task that never existed.
    unknown = client.get("/api/bob/tasks/999999", headers=bob).json()
    assert (
        client.get(path, headers=bob).json()["detail"].replace(str(task["id"]), "999999")
        == (unknown["detail"])
    )

    kept = client.get(f"/api/alice/tasks/{task['id']}", headers=alice).json()
    assert kept == task
