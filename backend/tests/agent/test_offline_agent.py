"""The offline agent against a real MCP server process over HTTP, on a migrated database."""

from __future__ import annotations

import pytest
from mcp_proxy import LossyProxy
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from todo_backend.agent import AgentReply, respond
from todo_backend.agent.offline import OUT_OF_SCOPE
from todo_backend.agent.phrases import Intent, Target, understand
from todo_backend.agent.turn import UNAVAILABLE
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
    ("message", "intent"),
    [
        ("add buy milk", Intent("add", title="buy milk")),
        ("Add a task to call mom.", Intent("add", title="call mom")),
        ('add "Buy Milk" to my list', Intent("add", title="Buy Milk")),
        ("show my pending tasks", Intent("list", status="pending")),
        ("list completed", Intent("list", status="completed")),
        ("how many are left?", Intent("list", status="pending", count=True)),
        ("complete task 3", Intent("complete", Target(task_id=3))),
        ("complete task three", Intent("complete", Target(task_id=3))),
        ("mark twelve as done", Intent("complete", Target(task_id=12))),
        ("please remove task number four", Intent("delete", Target(task_id=4))),
        ("delete the second one", Intent("delete", Target(ordinal=2))),
        ("delete the last task", Intent("delete", Target(ordinal=-1))),
        ("delete the milk task", Intent("delete", Target(words="milk"))),
        ("mark it as not done", Intent("reopen", Target(pronoun=True))),
        ("rename task 1 to call mom", Intent("rename", Target(task_id=1), title="call mom")),
        (
            "update task one description to 2 l",
            Intent("describe", Target(task_id=1), description="2 l"),
        ),
        ("what can you do?", Intent("help")),
    ],
)
def test_understands_plain_requests(message: str, intent: Intent) -> None:
    assert understand(message) == intent


@pytest.mark.parametrize(
    ("message", "action"),
    [
        ("hello", "small_talk"),
        ("see you later", "small_talk"),
        ("what is the weather", "out_of_scope"),
        ("List 3 ideas for dinner", "out_of_scope"),
        ("add", "ask_title"),
        ("add a task", "ask_title"),
        ("don't delete task 2", "declined_command"),
        ("delete everything", "unknown"),
    ],
)
def test_does_not_guess_at_other_messages(message: str, action: str) -> None:
    assert understand(message).action == action


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
    assert (
        deleted.response == f'Deleted task {task.id} "buy oat milk". Say "undo" to bring it back.'
    )
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
async def test_out_of_scope_is_answered_as_such(agent_settings: Settings, user_id: str) -> None:
    reply = await say(agent_settings, user_id, "sing me a song")
    assert reply.response == OUT_OF_SCOPE
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


async def converse(settings: Settings, user_id: str, *messages: str) -> list[AgentReply]:
    """The messages as one conversation, with history stored as the chat route stores it."""
    history: list[dict] = []
    replies = []
    for message in messages:
        reply = await respond(user_id=user_id, history=history, message=message, settings=settings)
        history += [
            {"role": "user", "content": message, "tool_calls": [], "pending_action": None},
            {
                "role": "assistant",
                "content": reply.response,
                "tool_calls": [call.as_dict() for call in reply.tool_calls],
                "pending_action": reply.pending_action,
            },
        ]
        replies.append(reply)
    return replies


@pytest.mark.anyio
async def test_deleting_by_title_asks_first(
    agent_settings: Settings, sessions: sessionmaker[Session], user_id: str
) -> None:
    await say(agent_settings, user_id, "add buy milk")
    asked, kept = await converse(agent_settings, user_id, "delete the milk task", "no")
    [milk] = tasks_of(sessions, user_id)
    assert asked.response == f'Delete "buy milk" (task {milk.id})? Say yes to confirm.'
    assert [call.name for call in asked.tool_calls] == ["list_tasks"]
    assert kept.tool_calls == [] and len(tasks_of(sessions, user_id)) == 1

    _, deleted = await converse(agent_settings, user_id, "delete the milk task", "yes")
    assert [call.name for call in deleted.tool_calls] == ["delete_task"]
    assert tasks_of(sessions, user_id) == []


@pytest.mark.anyio
async def test_undo_brings_a_deleted_task_back_as_it_was(
    agent_settings: Settings, sessions: sessionmaker[Session], user_id: str
) -> None:
    await converse(agent_settings, user_id, "add buy milk")
    [milk] = tasks_of(sessions, user_id)
    replies = await converse(
        agent_settings,
        user_id,
        f"update task {milk.id} description to 2 litres",
        f"complete task {milk.id}",
        f"delete task {milk.id}",
        "undo",
    )
    [back] = tasks_of(sessions, user_id)
    assert (back.title, back.description, back.completed) == ("buy milk", "2 litres", True)
    assert replies[-1].response == (
        f'Undone: I added "buy milk" (task {back.id}) and completed task {back.id} "buy milk".'
    )


@pytest.mark.anyio
async def test_several_matches_get_a_question_back(
    agent_settings: Settings, sessions: sessionmaker[Session], user_id: str
) -> None:
    await say(agent_settings, user_id, "add buy milk")
    await say(agent_settings, user_id, "add buy oat milk")
    milk, oat = tasks_of(sessions, user_id)
    asked, done = await converse(agent_settings, user_id, "complete the milk task", "oat")
    assert asked.response == (
        f'Which one do you mean: #{milk.id} "buy milk" or #{oat.id} "buy oat milk"? Say its number.'
    )
    assert done.tool_calls[0].arguments["task_id"] == oat.id
    assert [t.completed for t in tasks_of(sessions, user_id)] == [False, True]


@pytest.mark.anyio
async def test_a_lost_answer_after_a_saved_change_is_not_called_a_failure(
    agent_settings: Settings, sessions: sessionmaker[Session], user_id: str
) -> None:
    proxy = LossyProxy(agent_settings.mcp_server_url, failing_tool="add_task")
    lossy = agent_settings.model_copy(update={"mcp_server_url": proxy.url})
    try:
        reply = await say(lossy, user_id, "add buy milk")
    finally:
        proxy.close()
    assert [t.title for t in tasks_of(sessions, user_id)] == ["buy milk"]  # it was saved
    assert "can't tell whether that change was made" in reply.response
    assert "can't reach" not in reply.response
    [call] = reply.tool_calls
    assert (call.name, call.result) == ("add_task", {"error": "no answer from the task service"})


@pytest.mark.anyio
async def test_a_failure_half_way_says_what_was_done(
    agent_settings: Settings, sessions: sessionmaker[Session], user_id: str
) -> None:
    await say(agent_settings, user_id, "add buy milk")
    [milk] = tasks_of(sessions, user_id)
    history = await converse(agent_settings, user_id, f"complete task {milk.id}")
    deleted = await say(agent_settings, user_id, f"delete task {milk.id}")
    assert not history[0].response.startswith("Sorry") and deleted.tool_calls
    # Undo adds the task back, then completes it; the completion's answer is lost.
    proxy = LossyProxy(agent_settings.mcp_server_url, failing_tool="complete_task")
    lossy = agent_settings.model_copy(update={"mcp_server_url": proxy.url})
    past = [
        {"role": "user", "content": "delete", "tool_calls": [], "pending_action": None},
        {
            "role": "assistant",
            "content": deleted.response,
            "tool_calls": [call.as_dict() for call in deleted.tool_calls],
            "pending_action": None,
        },
    ]
    try:
        reply = await respond(user_id=user_id, history=past, message="undo", settings=lossy)
    finally:
        proxy.close()
    [back] = tasks_of(sessions, user_id)
    assert [call.name for call in reply.tool_calls] == ["add_task", "complete_task"]
    assert reply.response.endswith(
        f'Before that, I added "buy milk" (task {back.id}): that change is saved.'
    )
