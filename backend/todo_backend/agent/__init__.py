"""The chat agent: an OpenAI Agents SDK agent when OPENAI_API_KEY is set, else the offline one.

Both reach the tasks only through the MCP server's tools, over streamable HTTP.
"""

from __future__ import annotations

from todo_backend.agent import offline
from todo_backend.agent.reply import AgentReply, ToolCall
from todo_backend.config import Settings

__all__ = ["AgentReply", "ToolCall", "respond"]


async def respond(
    *, user_id: str, history: list[dict], message: str, settings: Settings
) -> AgentReply:
    """Answer `message` from `user_id`, given the conversation so far (oldest first)."""
    if settings.openai_api_key is None:
        return await offline.respond(
            user_id=user_id, history=history, message=message, settings=settings
        )
    # Imported here: the SDK is the `agent` extra, absent where only the domain layer is used.
    from todo_backend.agent import openai_agent

    return await openai_agent.respond(
        user_id=user_id, history=history, message=message, settings=settings
    )
