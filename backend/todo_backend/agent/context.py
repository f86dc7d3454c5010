"""What the stored conversation tells the offline agent: its open question, the task it named
last ("it"), and the changes "undo" would take back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from todo_backend.agent import outcome
from todo_backend.agent.reply import ToolCall


@dataclass(frozen=True)
class Context:
    """What the stored conversation says about this turn."""

    pending: dict[str, Any] | None  # the question the last reply asked, if it was the last
    last_task: dict[str, Any] | None  # {"id", "title"} of the task mentioned last
    last_changes: list[ToolCall]  # the changes the most recent changing reply made

    @classmethod
    def of(cls, history: list[dict]) -> Context:
        replies = [turn for turn in history if turn["role"] == "assistant"]
        last = history[-1] if history else None
        pending = last.get("pending_action") if last and last["role"] == "assistant" else None
        calls = [[ToolCall(**call) for call in turn.get("tool_calls") or []] for turn in replies]
        changes = next((outcome.changes(c) for c in reversed(calls) if outcome.changes(c)), [])
        return cls(pending, _last_task(replies), changes)


def _last_task(replies: list[dict]) -> dict[str, Any] | None:
    for reply in reversed(replies):
        pending = reply.get("pending_action") or {}
        if "task_id" in pending:
            return {"id": pending["task_id"], "title": pending.get("title", "")}
        for call in reversed(reply.get("tool_calls") or []):
            result = call.get("result")
            if isinstance(result, dict) and "task_id" in result and "error" not in result:
                return {"id": result["task_id"], "title": result.get("title", "")}
            listed = result.get("result") if isinstance(result, dict) else None
            if call["name"] == "list_tasks" and isinstance(listed, list) and len(listed) == 1:
                return {"id": listed[0]["id"], "title": listed[0]["title"]}
    return None
