"""The OpenAI Agents SDK path: an OpenAI-compatible stub plays the model; the MCP server is real."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from openai_stub import OpenAIStub
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from todo_backend.agent import respond
from todo_backend.agent.openai_agent import UNAVAILABLE
from todo_backend.config import Settings
from todo_backend.db.models import Task

pytestmark = pytest.mark.anyio
MODEL_KEY = "sk-stub-key"


@pytest.fixture
def stub(request: pytest.FixtureRequest, user_id: str) -> Iterator[OpenAIStub]:
    """The model: first asks for add_task (for `request.param` or the test's user), then answers."""
    tool_user = getattr(request, "param", user_id)
    server = OpenAIStub("add_task", {"user_id": tool_user, "title": "buy milk"}, "Added buy milk.")
    yield server
    server.close()


@pytest.fixture
def model_settings(agent_settings: Settings, stub: OpenAIStub) -> Settings:
    return agent_settings.model_copy(
        update={
            "openai_api_key": SecretStr(MODEL_KEY),
            "openai_base_url": stub.base_url,
            "openai_model": "stub-model",
        }
    )


def titles_of(sessions: sessionmaker[Session], user_id: str) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Task.title).where(Task.user_id == user_id)))


async def test_model_tool_call_runs_on_the_mcp_server(
    model_settings: Settings, stub: OpenAIStub, sessions: sessionmaker[Session], user_id: str
) -> None:
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}]
    reply = await respond(
        user_id=user_id, history=history, message="add buy milk", settings=model_settings
    )

    assert titles_of(sessions, user_id) == ["buy milk"]
    assert reply.response == "Added buy milk."
    [call] = reply.tool_calls
    assert (call.name, call.arguments) == ("add_task", {"user_id": user_id, "title": "buy milk"})
    assert call.result["status"] == "created" and call.result["title"] == "buy milk"

    first, second = stub.requests
    assert first["model"] == "stub-model"
    assert {tool["function"]["name"] for tool in first["tools"]} >= {"add_task", "list_tasks"}
    assert [m["content"] for m in first["messages"] if m["role"] != "system"] == [
        "hi",
        "Hello!",
        "add buy milk",
    ]
    assert '"status": "created"' in second["messages"][-1]["content"]
    assert stub.authorizations == [f"Bearer {MODEL_KEY}"] * 2


@pytest.mark.parametrize("stub", ["another-user"], indirect=True)
async def test_tool_calls_for_another_user_are_refused(
    model_settings: Settings, stub: OpenAIStub, sessions: sessionmaker[Session], user_id: str
) -> None:
    reply = await respond(user_id=user_id, history=[], message="add it", settings=model_settings)

    assert titles_of(sessions, "another-user") == []
    assert "Refused" in stub.requests[-1]["messages"][-1]["content"]
    [call] = reply.tool_calls
    assert call.arguments["user_id"] == "another-user" and "Refused" in str(call.result)
    assert reply.response == "Added buy milk."


async def test_an_unreachable_model_gives_a_friendly_reply(
    model_settings: Settings, stub: OpenAIStub, sessions: sessionmaker[Session], user_id: str
) -> None:
    stub.close()  # nothing listens on its port any more
    reply = await respond(user_id=user_id, history=[], message="add it", settings=model_settings)
    assert (reply.response, reply.tool_calls) == (UNAVAILABLE, [])
    assert titles_of(sessions, user_id) == []


async def test_earlier_tool_calls_reach_the_model_as_text(
    model_settings: Settings, stub: OpenAIStub, user_id: str
) -> None:
    deleted = {"task_id": 7, "status": "deleted", "title": "buy milk", "description": None}
    history = [
        {"role": "user", "content": "delete task 7", "tool_calls": []},
        {
            "role": "assistant",
            "content": "Deleted it.",
            "tool_calls": [
                {
                    "name": "delete_task",
                    "arguments": {"user_id": user_id, "task_id": 7},
                    "result": deleted,
                }
            ],
        },
    ]
    await respond(user_id=user_id, history=history, message="undo", settings=model_settings)
    reply = next(m for m in stub.requests[0]["messages"] if m["role"] == "assistant")
    text, tools = reply["content"].split("\n\nTools used: ")
    assert text == "Deleted it."
    assert json.loads(tools) == [
        {"name": "delete_task", "arguments": {"task_id": 7}, "result": deleted}
    ]
