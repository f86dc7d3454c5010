"""`/api/{user_id}/conversations` on SQLite and PostgreSQL: list, page, read, delete."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from todo_backend.app import create_app
from todo_backend.db.models import Message
from todo_backend.domain import conversations


def test_a_chat_is_listed_and_replayed_with_its_tool_calls(chat_settings, auth):
    alice = auth("alice")
    with TestClient(create_app(chat_settings)) as client:
        first = client.post("/api/alice/chat", json={"message": "add buy milk"}, headers=alice)
        conversation_id = first.json()["conversation_id"]
        body = {"conversation_id": conversation_id, "message": "what's on my list?"}
        client.post("/api/alice/chat", json=body, headers=alice)

        listing = client.get("/api/alice/conversations", headers=alice)
        detail = client.get(f"/api/alice/conversations/{conversation_id}", headers=alice)

    assert listing.status_code == 200
    [item] = listing.json()["items"]
    assert (item["id"], item["title"]) == (conversation_id, "add buy milk")
    assert listing.json()["next_before"] is None
    assert datetime.fromisoformat(item["updated_at"]) >= datetime.fromisoformat(item["created_at"])

    assert detail.status_code == 200
    messages = detail.json()["messages"]
    assert [(m["role"], m["content"]) for m in messages][::2] == [
        ("user", "add buy milk"),
        ("user", "what's on my list?"),
    ]
    assert messages[1]["content"] == first.json()["response"]
    [added] = messages[1]["tool_calls"]
    assert (added["name"], added["arguments"]["title"]) == ("add_task", "buy milk")
    assert added["result"]["status"] == "created"
    assert messages[0]["tool_calls"] == [] and messages[3]["tool_calls"][0]["name"] == "list_tasks"


def test_pages_run_newest_first_without_repeats(client, session, auth):
    made = []
    for number in range(5):
        conversation = conversations.get_or_create_conversation(session, "alice", None)
        conversations.add_message(session, conversation, "user", f"message {number}")
        made.append(conversation.id)
    # Writing to the oldest one makes it the most recently updated.
    conversations.add_message(session, session.merge(_by_id(session, made[0])), "user", "again")
    expected = [made[0], *reversed(made[1:])]

    seen, before, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"before": before} if before else {})
        page = client.get("/api/alice/conversations", params=params, headers=auth("alice")).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        before = page["next_before"]
        if before is None:
            break
    assert (seen, pages) == (expected, 3)


def _by_id(session, conversation_id):
    return conversations.get_conversation(session, "alice", conversation_id)


def test_titles_are_cut_at_a_word_and_untitled_says_so(client, session, auth):
    long = conversations.get_or_create_conversation(session, "alice", None)
    conversations.add_message(session, long, "user", "please " * 20)
    conversations.get_or_create_conversation(session, "alice", None)  # no message yet
    items = client.get("/api/alice/conversations", headers=auth("alice")).json()["items"]
    titles = {item["id"]: item["title"] for item in items}
    assert titles[long.id] == ("please " * 8).strip() + "\u2026"
    assert len(titles[long.id]) <= 61
    assert "New conversation" in titles.values()


def test_delete_removes_the_conversation_and_its_messages(client, session, auth):
    conversation = conversations.get_or_create_conversation(session, "alice", None)
    conversations.add_message(session, conversation, "user", "hi")
    conversations.add_message(session, conversation, "assistant", "hello", tool_calls=[])
    gone = conversation.id
    path = f"/api/alice/conversations/{gone}"

    deleted = client.delete(path, headers=auth("alice"))
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert client.get(path, headers=auth("alice")).status_code == 404
    assert client.delete(path, headers=auth("alice")).status_code == 404
    assert session.scalars(select(Message).where(Message.conversation_id == gone)).all() == []


def test_another_users_conversations_stay_hidden(client, session, auth):
    theirs = conversations.get_or_create_conversation(session, "alice", None)
    conversations.add_message(session, theirs, "user", "secret")
    bob = auth("bob")
    assert client.get("/api/bob/conversations", headers=bob).json() == {
        "items": [],
        "next_before": None,
    }
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/api/bob/conversations/{theirs.id}", headers=bob)
        assert response.status_code == 404
    cursor = client.get("/api/bob/conversations", params={"before": theirs.id}, headers=bob)
    assert cursor.status_code == 404
    assert client.get(f"/api/alice/conversations/{theirs.id}", headers=auth("alice")).is_success


def test_limit_is_checked(client, auth):
    for limit in (0, 101, "x"):
        response = client.get(
            "/api/alice/conversations", params={"limit": limit}, headers=auth("alice")
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "limit"]


def test_assistant_mode_is_offline_without_a_key(client, auth):
    response = client.get("/api/alice/assistant", headers=auth("alice"))
    assert response.json() == {"mode": "offline"}
