"""Per-user limits on chat turns and writes: 429 with Retry-After past the limit, per user, and
counted in the database so two app instances (two replicas) share one count."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from todo_backend.api.rate_limit import WINDOW_SECONDS, consume
from todo_backend.app import create_app
from todo_backend.db.session import make_engine

LIMIT = 3
# A conversation that does not exist: the turn is counted, then answered 404 before any agent.
UNKNOWN_TURN = {"conversation_id": 999999, "message": "hello"}


@pytest.fixture
def limited_settings(settings):
    return settings.model_copy(update={"chat_turns_per_minute": LIMIT, "writes_per_minute": LIMIT})


@pytest.fixture
def apps(limited_settings, migrated_url):
    """Two app instances on one database, as two back-end replicas are."""
    with (
        TestClient(create_app(limited_settings)) as first,
        TestClient(create_app(limited_settings)) as second,
    ):
        yield first, second


def _write(client: TestClient, auth, user: str):
    return client.post(f"/api/{user}/tasks", json={"title": "t"}, headers=auth(user))


def _turn(client: TestClient, auth, user: str, path: str = "chat"):
    return client.post(f"/api/{user}/{path}", json=UNKNOWN_TURN, headers=auth(user))


def _assert_limited(response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= WINDOW_SECONDS
    assert f"at most {LIMIT} a minute" in response.json()["detail"]


def test_the_write_past_the_limit_gets_429_and_another_user_is_unaffected(apps, auth):
    client, _ = apps
    assert [_write(client, auth, "alice").status_code for _ in range(LIMIT)] == [201] * LIMIT
    _assert_limited(_write(client, auth, "alice"))
    _assert_limited(client.delete("/api/alice/tasks/1", headers=auth("alice")))
    _assert_limited(client.delete("/api/alice/conversations/1", headers=auth("alice")))
    assert _write(client, auth, "bob").status_code == 201
    assert client.get("/api/alice/tasks", headers=auth("alice")).status_code == 200  # reads


def test_the_chat_turn_past_the_limit_gets_429_streamed_or_not(apps, auth):
    client, _ = apps
    assert [_turn(client, auth, "alice").status_code for _ in range(LIMIT)] == [404] * LIMIT
    _assert_limited(_turn(client, auth, "alice"))
    _assert_limited(_turn(client, auth, "alice", "chat/stream"))
    assert _turn(client, auth, "bob").status_code == 404
    assert _write(client, auth, "alice").status_code == 201  # its own bucket


def test_two_instances_share_the_count(apps, auth):
    first, second = apps
    codes = [_write(app, auth, "alice").status_code for app in (first, second, first)]
    assert codes == [201] * LIMIT
    _assert_limited(_write(second, auth, "alice"))
    _assert_limited(_write(first, auth, "alice"))


def test_a_new_window_starts_the_count_again(migrated_url):
    engine = make_engine(migrated_url)
    start = 1_000_000 * WINDOW_SECONDS
    assert [consume(engine, "u", "write", 2, start + s) for s in (0, 1, 2)] == [None, None, 58]
    assert consume(engine, "u", "write", 2, start + WINDOW_SECONDS) is None
    # A replica whose clock lags counts into the newer window instead of resetting it.
    assert consume(engine, "u", "write", 2, start + 5) is None
    assert consume(engine, "u", "write", 2, start + 5) == 115
    engine.dispose()
