"""Every tool, called in process through the SDK's in-memory client session."""

from __future__ import annotations

import pytest
from mcp import ClientSession
from mcp.shared.memory import create_connected_server_and_client_session

from todo_backend.db.session import make_engine, make_sessionmaker
from todo_mcp.app import build_server

pytestmark = pytest.mark.anyio


async def call(client: ClientSession, tool: str, **arguments):
    result = await client.call_tool(tool, arguments)
    assert not result.isError, result.content
    return result.structuredContent


async def error_of(client: ClientSession, tool: str, **arguments) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.isError
    return result.content[0].text


async def test_lists_the_six_tools_with_descriptions(client: ClientSession) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {
        "add_task",
        "list_tasks",
        "complete_task",
        "reopen_task",
        "delete_task",
        "update_task",
    }
    assert all(tool.description for tool in tools.values())
    assert tools["add_task"].inputSchema["required"] == ["user_id", "title"]


async def test_add_task_returns_id_status_title(client: ClientSession) -> None:
    added = await call(client, "add_task", user_id="u1", title="  buy milk ", description="2 l")
    assert added == {"task_id": added["task_id"], "status": "created", "title": "buy milk"}
    [task] = (await call(client, "list_tasks", user_id="u1"))["result"]
    assert (task["id"], task["description"], task["completed"]) == (added["task_id"], "2 l", False)


async def test_list_tasks_filters_by_status_and_user(client: ClientSession) -> None:
    milk = (await call(client, "add_task", user_id="u1", title="buy milk"))["task_id"]
    await call(client, "add_task", user_id="u1", title="call mom")
    await call(client, "add_task", user_id="u2", title="someone else's")
    await call(client, "complete_task", user_id="u1", task_id=milk)

    def titles(listing):
        return [task["title"] for task in listing["result"]]

    assert titles(await call(client, "list_tasks", user_id="u1")) == ["buy milk", "call mom"]
    assert titles(await call(client, "list_tasks", user_id="u1", status="pending")) == ["call mom"]
    completed = await call(client, "list_tasks", user_id="u1", status="completed")
    assert titles(completed) == ["buy milk"]


async def test_complete_task(client: ClientSession) -> None:
    task_id = (await call(client, "add_task", user_id="u1", title="buy milk"))["task_id"]
    done = await call(client, "complete_task", user_id="u1", task_id=task_id)
    assert done == {"task_id": task_id, "status": "completed", "title": "buy milk"}
    [task] = (await call(client, "list_tasks", user_id="u1", status="completed"))["result"]
    assert task["completed"] is True


async def test_reopen_task(client: ClientSession) -> None:
    task_id = (await call(client, "add_task", user_id="u1", title="buy milk"))["task_id"]
    await call(client, "complete_task", user_id="u1", task_id=task_id)
    reopened = await call(client, "reopen_task", user_id="u1", task_id=task_id)
    assert reopened == {"task_id": task_id, "status": "reopened", "title": "buy milk"}
    [task] = (await call(client, "list_tasks", user_id="u1", status="pending"))["result"]
    assert task["id"] == task_id
    assert "task 999 not found" in await error_of(client, "reopen_task", user_id="u1", task_id=999)


async def test_delete_task(client: ClientSession) -> None:
    added = await call(client, "add_task", user_id="u1", title="buy milk", description="2 l")
    task_id = added["task_id"]
    gone = await call(client, "delete_task", user_id="u1", task_id=task_id)
    assert gone == {
        "task_id": task_id,
        "status": "deleted",
        "title": "buy milk",
        "description": "2 l",
        "completed": False,
    }
    assert (await call(client, "list_tasks", user_id="u1"))["result"] == []


async def test_update_task_changes_only_given_fields(client: ClientSession) -> None:
    added = await call(client, "add_task", user_id="u1", title="buy milk", description="2 l")
    renamed = await call(
        client, "update_task", user_id="u1", task_id=added["task_id"], title="call mom"
    )
    assert renamed == {
        "task_id": added["task_id"],
        "status": "updated",
        "title": "call mom",
        "previous_title": "buy milk",
        "previous_description": "2 l",
    }
    [task] = (await call(client, "list_tasks", user_id="u1"))["result"]
    assert (task["title"], task["description"]) == ("call mom", "2 l")


async def test_unknown_task_is_a_clear_tool_error(client: ClientSession) -> None:
    assert "task 999 not found" in await error_of(
        client, "complete_task", user_id="u1", task_id=999
    )
    assert "task 999 not found" in await error_of(client, "delete_task", user_id="u1", task_id=999)


async def test_another_users_task_looks_unknown(client: ClientSession) -> None:
    task_id = (await call(client, "add_task", user_id="u1", title="mine"))["task_id"]
    message = await error_of(client, "delete_task", user_id="u2", task_id=task_id)
    assert f"task {task_id} not found" in message
    assert len((await call(client, "list_tasks", user_id="u1"))["result"]) == 1


async def test_bad_title_is_a_clear_tool_error(client: ClientSession) -> None:
    assert "invalid title: must not be empty" in await error_of(
        client, "add_task", user_id="u1", title="   "
    )
    assert "at most 200" in await error_of(client, "add_task", user_id="u1", title="x" * 201)


async def test_database_failure_is_reported_without_details(tmp_path) -> None:
    unreachable = make_sessionmaker(make_engine(f"sqlite:///{tmp_path}/no/such/dir/todo.db"))
    server = build_server(unreachable, allowed_hosts=["127.0.0.1:*"])
    async with create_connected_server_and_client_session(server) as client:
        message = await error_of(client, "list_tasks", user_id="u1")
    assert "the task database is unavailable" in message
    assert "sqlite" not in message.lower() and str(tmp_path) not in message
