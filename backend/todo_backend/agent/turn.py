"""One reply's tool calls on the MCP server, and the honest reply when one of them fails."""

from __future__ import annotations

import logging
import re
from contextlib import AsyncExitStack
from typing import Any

from mcp import ClientSession
from mcp.types import TextContent

from todo_backend.agent import outcome
from todo_backend.agent.mcp_client import tool_session
from todo_backend.agent.reply import AgentReply, ToolCall
from todo_backend.config import Settings

log = logging.getLogger(__name__)

UNAVAILABLE = "Sorry, I can't reach your task list right now. Please try again in a moment."
# A change whose answer never came (a timeout, a dropped connection) may have been saved.
LOST_CHANGE = (
    "Sorry, the task service did not answer, so I can't tell whether that change was made. "
    "Please check your list before trying again."
)
NO_ANSWER = "no answer from the task service"
CHANGING = {"add_task", "complete_task", "reopen_task", "update_task", "delete_task"}
# FastMCP prefixes every tool failure with this; the user only needs the reason.
TOOL_ERROR_PREFIX = re.compile(r"^Error executing tool \w+: ")


class ToolRefused(Exception):
    """The tool answered with an error (unknown task, invalid title): nothing was changed."""


class Turn:
    """One reply's tool calls, on one MCP session opened at the first call.

    It remembers the call in flight, so when the transport fails (its errors arrive as exception
    groups, sometimes only when the session closes) the reply can still say what was asked.
    """

    def __init__(self, user_id: str, settings: Settings) -> None:
        self.user_id, self.settings = user_id, settings
        self.calls: list[ToolCall] = []
        self.stack = AsyncExitStack()
        self.session: ClientSession | None = None
        self.in_flight: ToolCall | None = None
        self.refusal: str | None = None

    async def call(self, tool: str, **arguments: Any) -> Any:
        arguments = {"user_id": self.user_id, **arguments}
        if self.session is None:
            token = self.settings.mcp_api_token.get_secret_value()
            self.session = await self.stack.enter_async_context(
                tool_session(self.settings.mcp_server_url, token)
            )
        self.in_flight = ToolCall(tool, arguments, None)
        result = await self.session.call_tool(tool, arguments)
        self.in_flight = None
        if result.isError:
            text = " ".join(b.text for b in result.content if isinstance(b, TextContent))
            self.refusal = TOOL_ERROR_PREFIX.sub("", text or "the tool failed")
            self.calls.append(ToolCall(tool, arguments, {"error": self.refusal}))
            raise ToolRefused(self.refusal)
        data = result.structuredContent or {}
        self.calls.append(ToolCall(tool, arguments, data))
        return data

    def failed(self) -> AgentReply:
        """The reply for a turn that stopped on an error, with what it had done before."""
        if self.refusal is not None:
            failure = f"Sorry, I couldn't do that: {self.refusal}."
        elif self.session is None or self.in_flight is None:
            failure = UNAVAILABLE  # nothing was sent, or only reads were
        else:
            lost = ToolCall(self.in_flight.name, self.in_flight.arguments, {"error": NO_ANSWER})
            self.calls.append(lost)
            failure = UNAVAILABLE if lost.name not in CHANGING else LOST_CHANGE
        return AgentReply(outcome.after_failure(self.calls, failure), self.calls)
