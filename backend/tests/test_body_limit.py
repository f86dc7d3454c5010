"""A body over the limit is refused with 413 on every write route, declared or chunked, and
nothing is stored; one at the limit is read as usual."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from todo_backend.app import create_app

LIMIT = 1024
WRITES = [
    ("post", "/api/alice/tasks"),
    ("put", "/api/alice/tasks/1"),
    ("patch", "/api/alice/tasks/1/complete"),
    ("post", "/api/alice/chat"),
]


@pytest.fixture
def small(settings, migrated_url) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"max_body_bytes": LIMIT}))) as client:
        yield client


def _body(size: int) -> bytes:
    """A JSON task of exactly `size` bytes."""
    frame = json.dumps({"title": "t", "description": ""}).encode()
    return json.dumps({"title": "t", "description": "d" * (size - len(frame))}).encode()


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_declared_body_over_the_limit_is_413(small, auth, method, path) -> None:
    headers = {**auth("alice"), "content-type": "application/json"}
    answer = small.request(method, path, content=_body(LIMIT + 1), headers=headers)
    assert answer.status_code == 413, answer.text
    assert answer.json() == {"detail": f"The request body is larger than {LIMIT} bytes"}


def test_a_chunked_body_over_the_limit_is_413_and_stores_nothing(small, auth) -> None:
    headers = {**auth("alice"), "content-type": "application/json"}
    body = _body(LIMIT * 8)
    chunks = (body[i : i + 512] for i in range(0, len(body), 512))  # no Content-Length
    answer = small.post("/api/alice/tasks", content=chunks, headers=headers)
    assert answer.status_code == 413, answer.text
    assert small.get("/api/alice/tasks", headers=auth("alice")).json() == []


def test_a_body_at_the_limit_is_read(small, auth) -> None:
    headers = {**auth("alice"), "content-type": "application/json"}
    answer = small.post("/api/alice/tasks", content=_body(LIMIT), headers=headers)
    assert answer.status_code in (200, 201), answer.text
