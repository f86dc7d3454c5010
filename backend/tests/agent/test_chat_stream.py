"""`POST /api/{user_id}/chat/stream` in both modes, and honest replies when a model run fails.

The MCP server is real; the model is the local OpenAI-compatible stub, which streams its chunks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openai_stub import OpenAIStub
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from todo_backend.agent import respond
from todo_backend.agent.openai_agent import STOPPED
from todo_backend.app import create_app
from todo_backend.config import Settings
from todo_backend.db.models import Task


@pytest.fixture
def api_settings(agent_settings: Settings, jwks) -> Settings:
    return agent_settings.model_copy(update={"auth_jwks_url": jwks.url})


def with_model(settings: Settings, stub: OpenAIStub) -> Settings:
    return settings.model_copy(
        update={
            "openai_api_key": SecretStr("sk-stub-key"),
            "openai_base_url": stub.base_url,
            "openai_model": "stub-model",
        }
    )


@pytest.fixture
def stub(user_id: str) -> Iterator[OpenAIStub]:
    server = OpenAIStub("add_task", {"user_id": user_id, "title": "buy milk"}, "Added buy milk.")
    yield server
    server.close()


def stream_events(client: TestClient, user_id: str, headers: dict, body: dict) -> list[dict]:
    with client.stream("POST", f"/api/{user_id}/chat/stream", json=body, headers=headers) as reply:
        assert reply.status_code == 200, reply.read()
        assert reply.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in reply.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines), lines
    return [json.loads(line.removeprefix("data: ")) for line in lines]


def test_offline_stream_sends_the_tool_call_the_reply_and_done(api_settings, auth, user_id):
    with TestClient(create_app(api_settings)) as client:
        headers = auth(user_id)
        events = stream_events(client, user_id, headers, {"message": "add buy milk"})
        done = events[-1]
        detail = client.get(
            f"/api/{user_id}/conversations/{done['conversation_id']}", headers=headers
        ).json()
    assert [event["type"] for event in events] == ["tool_call", "delta", "done"]
    assert (events[0]["name"], events[0]["arguments"]["title"]) == ("add_task", "buy milk")
    assert events[1]["text"] == done["response"] and done["response"].startswith('Added "buy milk"')
    assert done["mode"] == "offline"
    assert done["tool_calls"] == [{k: v for k, v in events[0].items() if k != "type"}]
    assert [m["content"] for m in detail["messages"]] == ["add buy milk", done["response"]]
    assert detail["messages"][1]["tool_calls"] == done["tool_calls"]


def test_openai_stream_sends_text_as_it_comes(
    api_settings, stub: OpenAIStub, auth, user_id, sessions: sessionmaker[Session]
):
    with TestClient(create_app(with_model(api_settings, stub))) as client:
        events = stream_events(client, user_id, auth(user_id), {"message": "add buy milk"})
        mode = client.get(f"/api/{user_id}/assistant", headers=auth(user_id)).json()
    kinds = [event["type"] for event in events]
    assert kinds[0] == "tool_call" and kinds[-1] == "done"
    deltas = [event["text"] for event in events if event["type"] == "delta"]
    assert len(deltas) >= 2 and "".join(deltas) == "Added buy milk."
    done = events[-1]
    assert (done["mode"], done["response"]) == ("openai", "Added buy milk.")
    assert [call["name"] for call in done["tool_calls"]] == ["add_task"]
    assert mode == {"mode": "openai"}
    assert all(body.get("stream") for body in stub.requests)
    with sessions() as session:
        assert session.scalars(select(Task.title).where(Task.user_id == user_id)).all() == [
            "buy milk"
        ]


@pytest.mark.anyio
async def test_a_model_failure_after_a_tool_says_what_was_done(
    agent_settings: Settings, user_id: str, sessions: sessionmaker[Session]
) -> None:
    stub = OpenAIStub(
        "add_task", {"user_id": user_id, "title": "buy milk"}, "unused", fail_after_tool=True
    )
    try:
        reply = await respond(
            user_id=user_id,
            history=[],
            message="add buy milk",
            settings=with_model(agent_settings, stub),
        )
    finally:
        stub.close()
    with sessions() as session:
        [task] = session.scalars(select(Task).where(Task.user_id == user_id)).all()
    assert reply.response == (
        f'{STOPPED} Before that, I added "buy milk" (task {task.id}): that change is saved.'
    )
    [call] = reply.tool_calls
    assert (call.name, call.result["task_id"]) == ("add_task", task.id)
