"""The offline agent: understands a few plain requests and calls the MCP tools itself, no model.

Each request maps to one tool call through the RULES table (first match wins); the tool's result
becomes a short friendly answer. The conversation history is not needed for these requests.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mcp.types import TextContent

from todo_backend.agent.mcp_client import tool_session
from todo_backend.agent.reply import AgentReply, ToolCall
from todo_backend.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    tool: str
    fixed: dict[str, str] = field(default_factory=dict)  # arguments implied by the words


@dataclass(frozen=True)
class Intent:
    tool: str
    arguments: dict[str, Any]


def _rule(regex: str, tool: str, **fixed: str) -> Rule:
    return Rule(re.compile(regex, re.IGNORECASE), tool, fixed)


# Named groups become tool arguments of the same name.
TASK = r"(?:task\s+)?#?(?P<task_id>\d+)"
EDIT = r"(?:update|change|set|edit)"
DONE = r"(?:done|complete|completed|finished)"
LIST = (
    rf"^(?:(?:show|list|see|view|display)\b|what\b.*\b(?:list|tasks?|to ?dos?|plate|left|{DONE})\b)"
)
# Lookaheads: a status word anywhere in a list request narrows the listing.
PENDING = r"(?=.*\b(?:pending|open|incomplete|unfinished|remaining|left|to ?do)\b)"
COMPLETED = rf"(?=.*\b{DONE}\b)"
RULES = (
    _rule(rf"^(?:rename|retitle)\s+{TASK}\s+(?:to|as)\s+(?P<title>.+)$", "update_task"),
    _rule(rf"^{EDIT}\s+{TASK}(?:'s)?\s+title\s+(?:to\s+)?(?P<title>.+)$", "update_task"),
    _rule(
        rf"^{EDIT}\s+{TASK}(?:'s)?\s+description\s+(?:to\s+)?(?P<description>.+)$", "update_task"
    ),
    _rule(rf"^(?:complete|finish|check off|tick off)\s+{TASK}$", "complete_task"),
    _rule(rf"^mark\s+{TASK}\s+(?:as\s+)?{DONE}$", "complete_task"),
    _rule(rf"^(?:delete|remove|drop)\s+{TASK}$", "delete_task"),
    _rule(
        r"^(?:add|create)\s+(?:a\s+)?(?:new\s+)?(?:task\b\s*)?(?:(?:to|called|named)\s+|:\s*)?"
        r"(?P<title>.+?)(?:\s+to\s+my\s+(?:list|tasks))?$",
        "add_task",
    ),
    _rule(r"^remind me to\s+(?P<title>.+)$", "add_task"),
    _rule(r"^(?:help|what can you do|how does this work)\b", "help"),
    _rule(PENDING + LIST, "list_tasks", status="pending"),
    _rule(COMPLETED + LIST, "list_tasks", status="completed"),
    _rule(LIST, "list_tasks", status="all"),
)

HELP = (
    "I can manage your tasks. Try:\n"
    '- "add buy milk"\n'
    '- "show my pending tasks" (or "list completed", "what\'s on my list?")\n'
    '- "complete task 3" or "mark 3 as done"\n'
    '- "delete task 2"\n'
    '- "rename task 1 to call mom"\n'
    '- "update task 1 description to two litres"'
)
UNAVAILABLE = "Sorry, I can't reach your task list right now. Please try again in a moment."
# FastMCP prefixes every tool failure with this; the user only needs the reason.
TOOL_ERROR_PREFIX = re.compile(r"^Error executing tool \w+: ")


def parse(message: str) -> Intent | None:
    """The tool call `message` asks for, or None when it is not a request we understand."""
    text = message.strip().replace("\u2019", "'").rstrip(".!? ")
    for rule in RULES:
        match = rule.pattern.search(text)
        if match:
            arguments = {name: value for name, value in match.groupdict().items() if value}
            return Intent(rule.tool, {**_clean(arguments), **rule.fixed})
    return None


def _clean(arguments: dict[str, str]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {
        name: value.strip().strip("\"'") for name, value in arguments.items()
    }
    if "task_id" in cleaned:
        cleaned["task_id"] = int(cleaned["task_id"])
    return cleaned


async def respond(
    *, user_id: str, history: list[dict], message: str, settings: Settings
) -> AgentReply:
    intent = parse(message)
    if intent is None or intent.tool == "help":
        return AgentReply(HELP if intent else "I didn't catch that. " + HELP)
    arguments = {"user_id": user_id, **intent.arguments}
    token = settings.mcp_api_token.get_secret_value()
    try:
        async with tool_session(settings.mcp_server_url, token) as session:
            result = await session.call_tool(intent.tool, arguments)
    except Exception:  # the transport reports refusals and network errors as exception groups
        log.exception("could not call %s on the MCP server", intent.tool)
        return AgentReply(UNAVAILABLE)
    if result.isError:
        text = " ".join(block.text for block in result.content if isinstance(block, TextContent))
        reason = TOOL_ERROR_PREFIX.sub("", text or "the tool failed")
        call = ToolCall(intent.tool, arguments, {"error": reason})
        return AgentReply(f"Sorry, I couldn't do that: {reason}.", [call])
    data = result.structuredContent or {}
    return AgentReply(ANSWERS[intent.tool](data, intent), [ToolCall(intent.tool, arguments, data)])


def _listing(data: dict, intent: Intent) -> str:
    status = intent.arguments["status"]
    label = {"all": "tasks", "pending": "pending tasks", "completed": "completed tasks"}[status]
    tasks = data["result"]
    if not tasks:
        return f"You have no {label}." + (' Try "add buy milk".' if status == "all" else "")
    lines = [
        f"- #{task['id']} {task['title']}"
        + (" (done)" if task["completed"] and status == "all" else "")
        for task in tasks
    ]
    return f"Here are your {label}:\n" + "\n".join(lines)


def _updated(data: dict, intent: Intent) -> str:
    if "description" in intent.arguments:
        return f'Updated the description of task {data["task_id"]} "{data["title"]}".'
    return f'Renamed task {data["task_id"]} to "{data["title"]}".'


ANSWERS: dict[str, Callable[[dict, Intent], str]] = {
    "add_task": lambda data, _: f'Added "{data["title"]}" as task {data["task_id"]}.',
    "list_tasks": _listing,
    "complete_task": lambda data, _: (
        f'Nice work! Task {data["task_id"]} "{data["title"]}" is done.'
    ),
    "delete_task": lambda data, _: f'Deleted task {data["task_id"]} "{data["title"]}".',
    "update_task": _updated,
}
