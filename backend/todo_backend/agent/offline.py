"""The offline agent ("command mode"): understands plain requests and calls the MCP tools itself.

`phrases.understand` says what a message asks for; this module resolves the task it names
(by number, by words of its title, or "it"), asks back when several tasks fit or before deleting
by title, runs the tool calls through the MCP server and words the answer. Everything it needs
from earlier turns (the task just mentioned, the question it asked, the last change for "undo")
comes from the stored history, so any replica can answer the next message.
"""

from __future__ import annotations

import logging
from typing import Any

from todo_backend.agent import outcome
from todo_backend.agent.context import Context
from todo_backend.agent.matching import matching_tasks
from todo_backend.agent.phrases import Intent, Target, target, understand
from todo_backend.agent.reply import AgentReply, ToolCall
from todo_backend.agent.turn import Turn
from todo_backend.config import Settings

log = logging.getLogger(__name__)

HELP = (
    "I'm in command mode: I understand plain requests about your tasks. Try:\n"
    '- "add buy milk" or "remind me to call mom"\n'
    '- "what\'s pending?", "what did I finish?", "how many tasks are left?"\n'
    '- "complete task 3", "mark the milk task as done", "reopen it"\n'
    '- "delete task 2" or "delete the milk task" (I ask first)\n'
    '- "rename task 1 to call mom", "change the description of task 1 to two litres"\n'
    '- "undo" to take back the last change'
)
UNKNOWN = "I didn't catch that. " + HELP
OUT_OF_SCOPE = (
    "I can only help with your to-do list, so I can't answer that. "
    'Try "add ..." or "what\'s pending?".'
)
SMALL_TALK = {
    "greeting": "Hello! What can I do for your to-do list?",
    "thanks": "You're welcome!",
    "bye": "Bye! Your tasks will be here when you come back.",
    "how_are_you": "All good here, thanks! Anything to add to your list?",
    "who": "I'm the to-do assistant in command mode: I add, list, complete and delete tasks.",
    "sorry": "No problem at all.",
}


async def respond(
    *, user_id: str, history: list[dict], message: str, settings: Settings
) -> AgentReply:
    turn = Turn(user_id, settings)
    try:
        async with turn.stack:
            return await _answer(understand(message), message, Context.of(history), turn)
    except Exception:  # a tool error, or the transport's exception group
        if turn.refusal is None:
            log.exception("the offline agent's tool calls failed")
        return turn.failed()


async def _answer(intent: Intent, message: str, context: Context, turn: Turn) -> AgentReply:
    if context.pending and (follow_up := await _follow_up(intent, message, context, turn)):
        return follow_up
    action = intent.action
    if action in ("complete", "reopen", "delete", "rename", "describe"):
        return await _on_task(intent, context, turn)
    if action == "add":
        return await _add(turn, intent.title or "")
    if action == "list":
        return await _list(turn, intent)
    if action == "undo":
        return await _undo(context, turn)
    return AgentReply(**_without_tools(intent))


def _without_tools(intent: Intent) -> dict[str, Any]:
    """Replies that need no tool: talk, help, questions back, refusals."""
    action = intent.action
    if action == "ask_title":
        return {
            "response": "What should the task say?",
            "pending_action": {"action": "add", "needs": "title"},
        }
    if action == "which_task":
        return {"response": "Which task? Say its number or a few words of its title."}
    texts = {
        "help": HELP,
        "small_talk": SMALL_TALK.get(intent.fields.get("kind", ""), "OK."),
        "out_of_scope": OUT_OF_SCOPE,
        "declined_command": "OK, I won't.",
        "confirm": "There's nothing waiting for a yes right now. " + _short_help(),
        "decline": "OK.",
    }
    return {"response": texts.get(action, UNKNOWN)}


def _short_help() -> str:
    return 'Try "add buy milk" or "what\'s pending?".'


async def _follow_up(
    intent: Intent, message: str, context: Context, turn: Turn
) -> AgentReply | None:
    """The answer to the question the last reply asked, or None if this message is another one."""
    pending = context.pending or {}
    if intent.action == "decline":
        return AgentReply("OK, I've left it as it was.")
    if pending.get("needs") == "title" and intent.action in ("unknown", "out_of_scope"):
        return await _add(turn, message.strip().rstrip(".!"))
    confirmed = intent.action == "confirm" or (
        intent.action == "delete" and intent.target is not None and intent.target.pronoun
    )  # 'Delete "buy milk"?' - "delete it"
    if pending.get("action") == "delete" and "task_id" in pending and confirmed:
        return await _run(turn, "delete", {"id": pending["task_id"]}, {})
    if "choices" in pending and intent.action in ("unknown", "out_of_scope"):
        chosen = _choose(message, pending["choices"])
        if chosen is not None:
            return await _run(turn, pending["action"], chosen, pending.get("fields", {}))
    return None


def _choose(message: str, choices: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The choice `message` picks: its task number, its position, or words of its title."""
    named = target(message.strip().rstrip(".!?"))
    if named is None:
        return None
    if named.task_id is not None:
        by_id = [c for c in choices if c["id"] == named.task_id]
        if by_id:
            return by_id[0]
        return choices[named.task_id - 1] if 0 < named.task_id <= len(choices) else None
    if named.ordinal is not None:
        index = named.ordinal - 1 if named.ordinal > 0 else named.ordinal
        return choices[index] if -len(choices) <= index < len(choices) else None
    if named.words:
        found = matching_tasks(named.words, choices)
        return found[0] if len(found) == 1 else None
    return None


async def _on_task(intent: Intent, context: Context, turn: Turn) -> AgentReply:
    fields = {"title": intent.title, "description": intent.description}
    fields = {name: value for name, value in fields.items() if value is not None}
    named = intent.target or Target()
    if named.task_id is not None:
        return await _run(turn, intent.action, {"id": named.task_id}, fields)
    if named.pronoun:
        if context.last_task is None:
            return AgentReply("Which task do you mean? Say its number or words of its title.")
        return await _confirm_or_run(turn, intent.action, context.last_task, fields)
    tasks = (await turn.call("list_tasks", status="all"))["result"]
    if named.ordinal is not None:
        index = named.ordinal - 1 if named.ordinal > 0 else named.ordinal
        if not -len(tasks) <= index < len(tasks):
            return AgentReply(f"You have {_count(len(tasks), 'task')}, so there is no such task.")
        return await _confirm_or_run(turn, intent.action, tasks[index], fields)
    words = named.words or ""
    found = _prefer(intent.action, matching_tasks(words, tasks))
    if not found:
        return AgentReply(
            f'I couldn\'t find a task matching "{words}". Say "show my tasks" to see them all.',
            turn.calls,
        )
    if len(found) == 1:
        return await _confirm_or_run(turn, intent.action, found[0], fields)
    choices = [{"id": task["id"], "title": task["title"]} for task in found]
    listed = " or ".join(f'#{c["id"]} "{c["title"]}"' for c in choices)
    return AgentReply(
        f"Which one do you mean: {listed}? Say its number.",
        turn.calls,
        {"action": intent.action, "choices": choices, "fields": fields},
    )


def _prefer(action: str, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Completing means an open task, reopening a finished one, when both kinds match."""
    wanted = {"complete": False, "reopen": True}.get(action)
    narrowed = [task for task in found if task["completed"] is wanted]
    return narrowed or found


async def _confirm_or_run(
    turn: Turn, action: str, task: dict[str, Any], fields: dict[str, str]
) -> AgentReply:
    """Deleting a task named by anything but its number asks first; the rest runs at once."""
    if action != "delete":
        return await _run(turn, action, task, fields)
    return AgentReply(
        f'Delete "{task["title"]}" (task {task["id"]})? Say yes to confirm.',
        turn.calls,
        {"action": "delete", "task_id": task["id"], "title": task["title"]},
    )


async def _run(turn: Turn, action: str, task: dict[str, Any], fields: dict[str, str]) -> AgentReply:
    task_id = task["id"]
    if action == "complete":
        done = await turn.call("complete_task", task_id=task_id)
        text = f'Nice work! Task {task_id} "{done["title"]}" is done.'
    elif action == "reopen":
        done = await turn.call("reopen_task", task_id=task_id)
        text = f'Reopened task {task_id} "{done["title"]}".'
    elif action == "delete":
        done = await turn.call("delete_task", task_id=task_id)
        text = f'Deleted task {task_id} "{done["title"]}". Say "undo" to bring it back.'
    elif "description" in fields:
        done = await turn.call("update_task", task_id=task_id, **fields)
        text = f'Updated the description of task {task_id} "{done["title"]}".'
    else:
        done = await turn.call("update_task", task_id=task_id, **fields)
        text = f'Renamed task {task_id} to "{done["title"]}".'
    return AgentReply(text, turn.calls)


async def _add(turn: Turn, title: str) -> AgentReply:
    added = await turn.call("add_task", title=title)
    return AgentReply(f'Added "{added["title"]}" as task {added["task_id"]}.', turn.calls)


async def _list(turn: Turn, intent: Intent) -> AgentReply:
    tasks = (await turn.call("list_tasks", status=intent.status))["result"]
    label = {"all": "task", "pending": "pending task", "completed": "completed task"}
    if intent.count:
        return AgentReply(f"You have {_count(len(tasks), label[intent.status])}.", turn.calls)
    if not tasks:
        empty = {
            "all": 'You have no tasks. Try "add buy milk".',
            "pending": "Nothing left to do: every task is done!",
            "completed": "You haven't completed any tasks yet.",
        }
        return AgentReply(empty[intent.status], turn.calls)
    lines = [
        f"- #{task['id']} {task['title']}"
        + (" (done)" if task["completed"] and intent.status == "all" else "")
        for task in tasks
    ]
    heading = f"Here are your {label[intent.status]}s:"
    return AgentReply(heading + "\n" + "\n".join(lines), turn.calls)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


async def _undo(context: Context, turn: Turn) -> AgentReply:
    """Take back the last reply's changes, newest first (an undo of an undo redoes)."""
    if not context.last_changes:
        return AgentReply("There's nothing to undo in this conversation yet.")
    for call in reversed(context.last_changes):
        await _reverse(turn, call)
    return AgentReply(f"Undone: I {outcome.describe(turn.calls)}.", turn.calls)


async def _reverse(turn: Turn, call: ToolCall) -> None:
    result, task_id = call.result, call.result["task_id"]
    if call.name == "add_task":
        await turn.call("delete_task", task_id=task_id)
    elif call.name == "complete_task":
        await turn.call("reopen_task", task_id=task_id)
    elif call.name == "reopen_task":
        await turn.call("complete_task", task_id=task_id)
    elif call.name == "delete_task":
        restored = {"title": result["title"]}
        if result.get("description"):
            restored["description"] = result["description"]
        added = await turn.call("add_task", **restored)
        if result.get("completed"):
            await turn.call("complete_task", task_id=added["task_id"])
    elif call.name == "update_task" and "previous_title" in result:
        previous = {"title": result["previous_title"]}
        previous["description"] = result.get("previous_description") or ""
        await turn.call("update_task", task_id=task_id, **previous)
