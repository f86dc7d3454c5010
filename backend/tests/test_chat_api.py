"""`POST /api/{user_id}/chat` with the offline agent and a real MCP server: stored, resumable."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from todo_backend.app import create_app
from todo_backend.db.models import Message


def test_chat_adds_a_task_and_resumes_after_a_restart(chat_settings, session, auth):
    alice = auth("alice")
    with TestClient(create_app(chat_settings)) as client:
        first = client.post("/api/alice/chat", json={"message": "add buy milk"}, headers=alice)
        assert first.status_code == 200
        reply = first.json()
        assert [call["name"] for call in reply["tool_calls"]] == ["add_task"]
        assert reply["tool_calls"][0]["arguments"]["title"] == "buy milk"
        tasks = client.get("/api/alice/tasks", headers=alice).json()
        assert [task["title"] for task in tasks] == ["buy milk"]

    # A new app instance keeps nothing from the first: the database carries the conversation.
    with TestClient(create_app(chat_settings)) as client:
        body = {"conversation_id": reply["conversation_id"], "message": "what's on my list?"}
        second = client.post("/api/alice/chat", json=body, headers=alice).json()
    assert second["conversation_id"] == reply["conversation_id"]
    assert "buy milk" in second["response"]

    stored = session.scalars(select(Message).order_by(Message.id)).all()
    assert [(m.role, m.content) for m in stored] == [
        ("user", "add buy milk"),
        ("assistant", reply["response"]),
        ("user", "what's on my list?"),
        ("assistant", second["response"]),
    ]
    assert {m.conversation_id for m in stored} == {reply["conversation_id"]}


def test_another_users_conversation_is_404(client, auth):
    started = client.post("/api/alice/chat", json={"message": "help"}, headers=auth("alice"))
    conversation_id = started.json()["conversation_id"]
    body = {"conversation_id": conversation_id, "message": "help"}
    assert client.post("/api/bob/chat", json=body, headers=auth("bob")).status_code == 404
    unknown = {"conversation_id": conversation_id + 1000, "message": "help"}
    assert client.post("/api/alice/chat", json=unknown, headers=auth("alice")).status_code == 404


def test_chat_message_is_validated(client, auth):
    for body in ({"message": ""}, {"message": "x" * 2001}, {}):
        response = client.post("/api/alice/chat", json=body, headers=auth("alice"))
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "message"]


def test_chat_needs_the_users_token(client, auth):
    assert client.post("/api/alice/chat", json={"message": "help"}).status_code == 401
    response = client.post("/api/alice/chat", json={"message": "help"}, headers=auth("bob"))
    assert response.status_code == 403
