"""The chat agent: an OpenAI Agents SDK agent when OPENAI_API_KEY is set, else the offline one.

Both reach the tasks only through the MCP server's tools, over streamable HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

from todo_backend.agent import offline
from todo_backend.agent.reply import AgentEvent, AgentReply, ToolCall
from todo_backend.config import Settings

__all__ = ["AgentEvent", "AgentReply", "ToolCall", "mode", "respond", "stream"]

Mode = Literal["offline", "openai"]


def mode(settings: Settings) -> Mode:
    """Which agent answers: the UI calls the offline one "command mode"."""
    return "offline" if settings.openai_api_key is None else "openai"


async def stream(
    *, user_id: str, history: list[dict], message: str, settings: Settings
) -> AsyncIterator[AgentEvent]:
    """Answer `message` from `user_id`, given the conversation so far (oldest first)."""
    if mode(settings) == "offline":
        reply = await offline.respond(
            user_id=user_id, history=history, message=message, settings=settings
        )
        for call in reply.tool_calls:
            yield call
        yield reply.response  # no model writes it word by word: one piece
        yield reply
        return
    # Imported here: the SDK is the `agent` extra, absent where only the domain layer is used.
    from todo_backend.agent import openai_agent

    async for event in openai_agent.stream(
        user_id=user_id, history=history, message=message, settings=settings
    ):
        yield event


async def respond(
    *, user_id: str, history: list[dict], message: str, settings: Settings
) -> AgentReply:
    """The whole reply at once: the stream's last event."""
    async for event in stream(user_id=user_id, history=history, message=message, settings=settings):
        if isinstance(event, AgentReply):
            return event
    raise RuntimeError("the agent's stream ended without a reply")
