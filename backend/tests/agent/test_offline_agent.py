"""The offline agent against a real MCP server process over HTTP, on a migrated database."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from todo_backend.agent import AgentReply, respond
from todo_backend.agent.offline import HELP, UNAVAILABLE, Intent, parse
from todo_backend.config import Settings
from todo_backend.db.models import Task
from todo_backend.db.session import make_engine, make_sessionmaker
from todo_backend.migrate import upgrade


async def say(settings: Settings, user_id: str, message: str) -> AgentReply:
    return await respond(user_id=user_id, history=[], message=message, settings=settings)


def tasks_of(sessions: sessionmaker[Session], user_id: str) -> list[Task]:
    with sessions() as session:
        return list(session.scalars(select(Task).where(Task.user_id == user_id).order_by(Task.id)))


@pytest.mark.parametrize(
    ("message", "tool", "arguments"),
    [
        ("add buy milk", "add_task", {"title": "buy milk"}),
        ("Add a task to call mom.", "add_task", {"title": "call mom"}),
        ('add "Buy Milk" to my list', "add_task", {"title": "Buy Milk"}),
        ("show my pending tasks", "list_tasks", {"status": "pending"}),
        ("list completed", "list_tasks", {"status": "completed"}),
        ("what\u2019s on my list?", "list_tasks", {"status": "all"}),
        ("complete task 3", "complete_task", {"task_id": 3}),
        ("mark 3 as done", "complete_task", {"task_id": 3}),
        ("delete task 2", "delete_task", {"task_id": 2}),
        ("remove task 2", "delete_task", {"task_id": 2}),
        ("rename task 1 to call mom", "update_task", {"task_id": 1, "title": "call mom"}),
        ("update task 1 description to 2 l", "update_task", {"task_id": 1, "description": "2 l"}),
        ("what can you do?", "help", {}),
    ],
)
def test_parses_plain_requests(message: str, tool: str, arguments: dict) -> None:
    assert parse(message) == Intent(tool, arguments)


@pytest.mark.parametrize("message", ["hello", "what is the weather", "add", "delete everything"])
def test_does_not_guess_at_other_messages(message: str) -> None:
    assert parse(message) is None


@pytest.mark.anyio
async def test_add_list_complete_rename_delete_through_mcp(
    agent_settings: Settings, sessions: sessionmaker[Session], user_id: str
) -> None:
    added = await say(agent_settings, user_id, "add buy milk")
    [task] = tasks_of(sessions, user_id)
    assert task.title == "buy milk"
    assert added.response == f'Added "buy milk" as task {task.id}.'
    [call] = added.tool_calls
    assert (call.name, call.arguments) == ("add_task", {"user_id": user_id, "title": "buy milk"})
    assert call.result == {"task_id": task.id, "status": "created", "title": "buy milk"}

    await say(agent_settings, user_id, "add task call mom")
    listed = await say(agent_settings, user_id, "what's on my list?")
    assert "buy milk" in listed.response and "call mom" in listed.response
    assert [t["title"] for t in listed.tool_calls[0].result["result"]] == ["buy milk", "call mom"]

    done = await say(agent_settings, user_id, f"mark {task.id} as done")
    assert "is done" in done.response and tasks_of(sessions, user_id)[0].completed
    pending = await say(agent_settings, user_id, "show my pending tasks")
    assert "call mom" in pending.response and "buy milk" not in pending.response

    renamed = await say(agent_settings, user_id, f"rename task {task.id} to buy oat milk")
    assert renamed.response == f'Renamed task {task.id} to "buy oat milk".'
    described = await say(agent_settings, user_id, f"update task {task.id} description to 2 litres")
    assert "description" in described.response
    assert (tasks_of(sessions, user_id)[0].title, tasks_of(sessions, user_id)[0].description) == (
        "buy oat milk",
        "2 litres",
    )

    deleted = await say(agent_settings, user_id, f"delete task {task.id}")
    assert deleted.response == f'Deleted task {task.id} "buy oat milk".'
    assert [t.title for t in tasks_of(sessions, user_id)] == ["call mom"]


@pytest.mark.anyio
async def test_unknown_task_gets_a_clear_answer(agent_settings: Settings, user_id: str) -> None:
    reply = await say(agent_settings, user_id, "complete task 999")
    assert reply.response == "Sorry, I couldn't do that: task 999 not found."
    assert reply.tool_calls[0].result == {"error": "task 999 not found"}


@pytest.mark.anyio
async def test_other_users_tasks_stay_hidden(
    agent_settings: Settings, sessions: sessionmaker[Session], user_id: str
) -> None:
    other = f"{user_id}-other"
    await say(agent_settings, other, "add secret plan")
    [theirs] = tasks_of(sessions, other)
    deleted = await say(agent_settings, user_id, f"delete task {theirs.id}")
    assert deleted.response == f"Sorry, I couldn't do that: task {theirs.id} not found."
    listed = await say(agent_settings, user_id, "show my tasks")
    assert listed.response.startswith("You have no tasks")
    assert [task.id for task in tasks_of(sessions, other)] == [theirs.id]


@pytest.mark.anyio
async def test_unknown_request_lists_what_it_can_do(agent_settings: Settings, user_id: str) -> None:
    reply = await say(agent_settings, user_id, "sing me a song")
    assert reply.response == "I didn't catch that. " + HELP
    assert reply.tool_calls == []


@pytest.mark.anyio
async def test_a_wrong_token_gives_a_friendly_reply(agent_settings: Settings, user_id: str) -> None:
    wrong = agent_settings.model_copy(update={"mcp_api_token": SecretStr("wrong-token")})
    reply = await say(wrong, user_id, "add buy milk")
    assert (reply.response, reply.tool_calls) == (UNAVAILABLE, [])


@pytest.mark.postgres
@pytest.mark.anyio
async def test_works_on_postgresql(
    agent_settings: Settings, postgres_url: str, serve_mcp, tmp_path, user_id: str
) -> None:
    upgrade(postgres_url)
    with serve_mcp(postgres_url, tmp_path / "mcp.log") as url:
        settings = agent_settings.model_copy(update={"mcp_server_url": url})
        added = await say(settings, user_id, "add buy milk")
        task_id = added.tool_calls[0].result["task_id"]
        done = await say(settings, user_id, f"complete task {task_id}")
    assert done.response == f'Nice work! Task {task_id} "buy milk" is done.'
    engine = make_engine(postgres_url)
    with make_sessionmaker(engine)() as session:
        assert session.get(Task, task_id).completed
    engine.dispose()
