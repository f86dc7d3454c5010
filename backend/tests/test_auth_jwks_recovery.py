"""The JWKS endpoint down, coming up, staying down: the back end recovers at once, fails fast.

Right after a fresh deploy the front end (better-auth's JWKS) may not answer yet. A real HTTP
server on 127.0.0.1 plays it: not listening (a Service without endpoints refuses), answering 503
(up but not ready), or serving the session's keys.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from jwks_http import serve_json

from todo_backend.app import create_app
from todo_backend.auth import JWKS_RETRY_SECONDS, TokenVerifier

if TYPE_CHECKING:
    from conftest import JwksServer

# Slack for a loaded 2-core machine on top of the back end's own retry budget.
SLACK_SECONDS = 1.5


class FlakyJwks:
    """The session's key set on a fixed port that can refuse, fail with 503, or serve."""

    def __init__(self, keys: JwksServer, port: int) -> None:
        self.keys = keys
        self.port = port
        self.url = f"http://127.0.0.1:{port}/api/auth/jwks"
        self.failing = False
        self.requests = 0
        self.httpd: ThreadingHTTPServer | None = None

    def up(self) -> None:
        self.httpd = serve_json(self.port, self._answer)

    def _answer(self) -> dict | None:
        self.requests += 1
        return None if self.failing else self.keys.document()

    def up_after(self, seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, self.up)
        timer.start()
        return timer

    def down(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


@pytest.fixture
def flaky(jwks: JwksServer, unused_port: int) -> Iterator[FlakyJwks]:
    server = FlakyJwks(jwks, unused_port)
    yield server
    server.down()


@pytest.fixture
def api(settings, migrated_url, flaky: FlakyJwks) -> Iterator[TestClient]:
    """The app, its key set at `flaky` (down until a test brings it up)."""
    with TestClient(create_app(settings.model_copy(update={"auth_jwks_url": flaky.url}))) as c:
        yield c


def _get(api: TestClient, headers: dict[str, str]) -> tuple[int, float]:
    started = time.monotonic()
    status = api.get("/api/alice/tasks", headers=headers).status_code
    return status, time.monotonic() - started


def test_jwks_down_for_the_first_request_then_up_answers_at_once(api, flaky, auth):
    status, _ = _get(api, auth("alice"))
    assert status == 503, "no keys yet: the token can be judged neither way"
    flaky.up()
    status, seconds = _get(api, auth("alice"))
    assert status == 200, "the key set is up again, yet the token is still refused"
    assert seconds < SLACK_SECONDS, f"recovery waited {seconds:.1f} s (a cooldown after failure?)"
    assert flaky.requests == 1


def test_jwks_coming_up_during_the_request_is_waited_for(api, flaky, auth):
    timer = flaky.up_after(JWKS_RETRY_SECONDS / 4)
    status, seconds = _get(api, auth("alice"))
    timer.join()
    assert status == 200, "the front end answered within the retry budget, yet the call failed"
    assert seconds < JWKS_RETRY_SECONDS + SLACK_SECONDS


def test_jwks_staying_down_is_503_promptly_with_a_log_line(api, flaky, auth, caplog):
    with caplog.at_level(logging.WARNING, logger="todo_backend.auth"):
        status, seconds = _get(api, auth("alice"))
    assert status == 503
    assert seconds < JWKS_RETRY_SECONDS + SLACK_SECONDS, f"503 only after {seconds:.1f} s"
    lines = [r.getMessage() for r in caplog.records if r.name == "todo_backend.auth"]
    assert any(flaky.url in line and "503" in line for line in lines), (
        f"no log line names the unreachable JWKS URL: {lines}"
    )


def test_jwks_answering_errors_is_retried_a_bounded_number_of_times(api, flaky, auth):
    flaky.up()
    flaky.failing = True
    status, seconds = _get(api, auth("alice"))
    assert status == 503
    assert 2 <= flaky.requests <= 6, f"{flaky.requests} fetches for one request"
    assert seconds < JWKS_RETRY_SECONDS + SLACK_SECONDS


def _stranger_token(sub: str) -> dict[str, str]:
    """Signed by a key the JWKS never had, under a `kid` it never listed."""
    claims = {"sub": sub, "exp": int(time.time()) + 300}
    token = jwt.encode(
        claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": uuid.uuid4().hex}
    )
    return {"Authorization": f"Bearer {token}"}


def test_unknown_kids_refetch_at_most_once_per_cooldown(api, flaky, auth):
    flaky.up()
    assert _get(api, auth("alice"))[0] == 200
    fetched = flaky.requests
    for _ in range(5):
        assert _get(api, _stranger_token("alice"))[0] == 401
    assert flaky.requests - fetched <= 1, f"{flaky.requests - fetched} refetches for forged kids"


def test_failed_refresh_for_an_unknown_kid_is_not_retried(api, flaky, auth, settings):
    flaky.up()
    api.app.state.verifier = TokenVerifier(
        settings.model_copy(update={"auth_jwks_url": flaky.url}), refresh_cooldown=0.0
    )
    assert _get(api, auth("alice"))[0] == 200
    flaky.failing = True
    fetched = flaky.requests
    # The set was fetched: a forged kid costs one refetch, never a retry loop against the front end.
    assert _get(api, _stranger_token("alice"))[0] == 503
    assert flaky.requests == fetched + 1
    # Known keys keep working from the cache while the endpoint fails.
    assert _get(api, auth("alice"))[0] == 200
    assert flaky.requests == fetched + 1
