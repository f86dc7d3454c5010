"""Text the database cannot store (NUL, lone surrogates) is a 422 naming the field, on every
write route, on SQLite and PostgreSQL, and leaves nothing behind (no task, no conversation)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from todo_backend.domain.text import unstorable

BAD = ["\x00", "a\x00b", "\ud800", "x\udfffy"]


def _post(client, path: str, body: dict, headers: dict):
    # A lone surrogate cannot be encoded by httpx's own JSON: send the escaped form, as a
    # browser's JSON.stringify does.
    raw = json.dumps(body)  # ensure_ascii: "\ud800" becomes the six characters \ud800
    return client.post(path, content=raw, headers={**headers, "content-type": "application/json"})


def _put(client, path: str, body: dict, headers: dict):
    raw = json.dumps(body)
    return client.put(path, content=raw, headers={**headers, "content-type": "application/json"})


def _field_of(response) -> list[str]:
    assert response.status_code == 422, response.text
    return [error["loc"][-1] for error in response.json()["detail"]]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("field", ["title", "description"])
def test_a_task_with_unstorable_text_is_422_and_not_stored(client, auth, bad, field):
    headers = auth("alice")
    body = {"title": "ok", "description": "ok", field: f"text {bad}"}
    assert _field_of(_post(client, "/api/alice/tasks", body, headers)) == [field]
    assert client.get("/api/alice/tasks", headers=headers).json() == []


@pytest.mark.parametrize("bad", BAD)
def test_an_update_with_unstorable_text_is_422_and_changes_nothing(client, auth, bad):
    headers = auth("alice")
    task = client.post("/api/alice/tasks", json={"title": "keep"}, headers=headers).json()
    assert _field_of(_put(client, f"/api/alice/tasks/{task['id']}", {"title": bad}, headers)) == [
        "title"
    ]
    assert client.get(f"/api/alice/tasks/{task['id']}", headers=headers).json()["title"] == "keep"


@pytest.mark.parametrize("bad", BAD)
def test_a_chat_message_with_unstorable_text_is_422_and_leaves_no_conversation(client, auth, bad):
    headers = auth("alice")
    response = _post(client, "/api/alice/chat", {"message": f"add {bad}"}, headers)
    assert _field_of(response) == ["message"]
    reason = response.json()["detail"][0]["msg"]  # ours, or pydantic's for a lone surrogate
    assert "must not contain" in reason or "unicode string" in reason
    listed = client.get("/api/alice/conversations", headers=headers).json()
    assert listed["items"] == []


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec=None), max_size=40))
def test_unstorable_is_exactly_what_utf8_and_postgresql_text_refuse(text: str) -> None:
    try:
        text.encode("utf-8")
        encodable = True
    except UnicodeEncodeError:
        encodable = False
    assert (unstorable(text) is None) == (encodable and "\x00" not in text)


def test_a_turn_whose_message_cannot_be_stored_leaves_no_conversation(session, monkeypatch):
    """Whatever fails while storing the user's message (here the commit itself), the new
    conversation goes with it: one transaction."""
    from todo_backend.domain import conversations

    def refuse() -> None:
        raise RuntimeError("the database refused the message")

    monkeypatch.setattr(session, "commit", refuse)
    with pytest.raises(RuntimeError, match="refused"):
        conversations.begin_turn(session, "alice", None, "add milk")
    monkeypatch.undo()
    assert conversations.list_conversations(session, "alice").items == []
