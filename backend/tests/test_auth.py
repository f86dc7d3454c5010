"""Bearer JWTs from better-auth: verified against a real JWKS server; 401, 403 and isolation."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import text

from todo_backend.app import create_app
from todo_backend.auth import TokenVerifier
from todo_backend.db.session import make_engine


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


def test_rotated_key_is_fetched_on_unknown_kid_after_cooldown(client, settings, jwks, make_token):
    client.app.state.verifier = TokenVerifier(settings, refresh_cooldown=1.0)

    def bearer(jwks, sub: str, kid: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(sub, kid=kid)}"}

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


def get_tasks(client: TestClient, token: str):
    return client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {token}"})


def test_valid_token_of_a_live_session_is_200(client, make_token):
    assert get_tasks(client, make_token("alice")).status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "http://todo.local"},  # the public URL: what better-auth signs with by default
        {"aud": "http://todo.local"},
        {"aud": "someone-else"},
        {"iss": None},  # left out
        {"aud": None},
    ],
    ids=["wrong-issuer", "audience-is-the-url", "wrong-audience", "no-issuer", "no-audience"],
)
def test_issuer_and_audience_are_always_checked(client, make_token, claims):
    response = get_tasks(client, make_token("alice", **claims))
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid or expired token"}


def test_a_signed_out_session_is_401(client, make_token, migrated_url):
    token = make_token("alice")
    assert get_tasks(client, token).status_code == 200
    sid = jwt.decode(token, options={"verify_signature": False})["sid"]
    engine = make_engine(migrated_url)
    with engine.begin() as connection:  # what better-auth's sign-out does
        connection.execute(text("DELETE FROM session WHERE id = :sid"), {"sid": sid})
    engine.dispose()
    response = get_tasks(client, token)
    assert response.status_code == 401
    assert response.json() == {"detail": "the session was signed out: sign in again"}


def test_an_expired_session_is_401(client, make_token, migrated_url, signed_in):
    token = make_token("alice", sid=signed_in(migrated_url, "alice", lifetime=-1))
    response = get_tasks(client, token)
    assert response.status_code == 401
    assert response.json() == {"detail": "the session has expired: sign in again"}


def test_a_token_without_a_session_id_or_for_anothers_session_is_401(client, make_token):
    bob_session = jwt.decode(make_token("bob"), options={"verify_signature": False})["sid"]
    assert get_tasks(client, make_token("alice", sid=bob_session)).status_code == 401
    assert get_tasks(client, make_token("alice", sid=None)).status_code == 401


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
