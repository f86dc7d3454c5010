"""What a turn changed, in words: the honest part of a reply when a turn fails half-way.

Both agents use it, from the tool results they collected, so a timeout after a saved change
says what was saved instead of pretending nothing happened.
"""

from __future__ import annotations

from todo_backend.agent.reply import ToolCall

# The tools that change tasks, and how to say what each did.
DONE_PHRASES = {
    "add_task": 'added "{title}" (task {task_id})',
    "complete_task": 'completed task {task_id} "{title}"',
    "reopen_task": 'reopened task {task_id} "{title}"',
    "update_task": 'updated task {task_id} "{title}"',
    "delete_task": 'deleted task {task_id} "{title}"',
}


def succeeded(call: ToolCall) -> bool:
    return isinstance(call.result, dict) and "error" not in call.result and "task_id" in call.result


def changes(calls: list[ToolCall]) -> list[ToolCall]:
    """The calls that changed a task and succeeded, in order."""
    return [call for call in calls if call.name in DONE_PHRASES and succeeded(call)]


def describe(calls: list[ToolCall]) -> str:
    """'added "buy milk" (task 3) and completed task 2 "call mom"', or '' when nothing changed."""
    phrases = [DONE_PHRASES[call.name].format(**call.result) for call in changes(calls)]
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def after_failure(calls: list[ToolCall], failure: str) -> str:
    """The reply for a turn that failed: the failure, and what had been done before it."""
    done = describe(calls)
    if not done:
        return failure
    return f"{failure} Before that, I {done}: that change is saved."
