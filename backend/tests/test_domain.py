"""The domain layer directly, as the MCP server calls it: rules the REST tests do not reach."""

from __future__ import annotations

import pytest

from todo_backend.domain import conversations, tasks


def test_complete_task_sets_completed_and_stays_completed(session):
    task = tasks.create_task(session, "alice", "water plants")
    assert tasks.complete_task(session, "alice", task.id).completed is True
    assert tasks.complete_task(session, "alice", task.id).completed is True


def test_update_without_fields_changes_nothing(session):
    task = tasks.create_task(session, "alice", "title", "description")
    same = tasks.update_task(session, "alice", task.id)
    assert (same.title, same.description) == ("title", "description")


@pytest.mark.parametrize(
    "call",
    [
        lambda s, i: tasks.get_task(s, "bob", i),
        lambda s, i: tasks.update_task(s, "bob", i, title="mine"),
        lambda s, i: tasks.toggle_complete(s, "bob", i),
        lambda s, i: tasks.complete_task(s, "bob", i),
        lambda s, i: tasks.delete_task(s, "bob", i),
    ],
    ids=["get", "update", "toggle", "complete", "delete"],
)
def test_another_users_task_is_not_found(session, call):
    task = tasks.create_task(session, "alice", "private")
    with pytest.raises(tasks.TaskNotFound, match=f"task {task.id} not found"):
        call(session, task.id)
    kept = tasks.get_task(session, "alice", task.id)
    assert (kept.title, kept.completed) == ("private", False)


def test_invalid_fields_name_the_field(session):
    with pytest.raises(tasks.InvalidTask) as error:
        tasks.create_task(session, "alice", "ok", "d" * 1001)
    assert error.value.field == "description"
    with pytest.raises(tasks.InvalidTask, match="status"):
        tasks.list_tasks(session, "alice", status="done")  # type: ignore[arg-type]


def test_conversations_belong_to_their_user(session):
    mine = conversations.get_or_create_conversation(session, "alice", None)
    conversations.add_message(session, mine, "user", "hi")
    conversations.add_message(session, mine, "assistant", "hello")
    again = conversations.get_or_create_conversation(session, "alice", mine.id)
    assert [(m["role"], m["content"]) for m in conversations.history(session, again)] == [
        ("user", "hi"),
        ("assistant", "hello"),
    ]
    with pytest.raises(conversations.ConversationNotFound):
        conversations.get_or_create_conversation(session, "bob", mine.id)
