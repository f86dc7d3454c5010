"""`/api/{user_id}/chat`: one turn with the assistant, persisted so any replica can resume.

`/chat` answers with the whole reply; `/chat/stream` sends it as server-sent events while the
agent works. Both store the user's message before the agent runs and the reply, with its tool
calls, once it has finished.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from todo_backend.api.deps import ERROR_RESPONSES, NOT_FOUND, CurrentUser, SessionDep, SettingsDep
from todo_backend.api.rate_limit import CHAT_LIMIT, TOO_MANY
from todo_backend.api.schemas import AssistantOut, ChatRequest, ChatResponse, ToolCallOut
from todo_backend.config import Settings
from todo_backend.db.models import Conversation
from todo_backend.domain import conversations

if TYPE_CHECKING:
    from todo_backend.agent.reply import AgentReply

router = APIRouter(prefix="/api/{user_id}", tags=["chat"], responses=ERROR_RESPONSES)

STREAM_DESCRIPTION = (
    "Server-sent events, one JSON object per `data:` line: "
    '`{"type": "delta", "text": ...}` as text is written, '
    '`{"type": "tool_call", "name", "arguments", "result"}` after each tool call, and last '
    '`{"type": "done", "conversation_id", "response", "tool_calls", "mode"}` (the reply to keep).'
)
# OpenAPI 3.1 reads an event stream's `schema` as the schema of each event.
SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "string", "contentMediaType": "application/json"}},
}
STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": STREAM_DESCRIPTION,
        "content": {"text/event-stream": {"schema": SSE_EVENT}},
    }
}


def _agent():
    # Imported on first use: the agent brings in the OpenAI and MCP client stacks.
    from todo_backend import agent

    return agent


@router.get("/assistant", response_model=AssistantOut)
def assistant(user_id: CurrentUser, settings: SettingsDep) -> AssistantOut:
    """Which assistant answers: "offline" (command mode, no OpenAI key) or "openai"."""
    return AssistantOut(mode=_agent().mode(settings))


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses={**NOT_FOUND, **TOO_MANY},
    dependencies=[CHAT_LIMIT],
)
async def chat(
    user_id: CurrentUser, session: SessionDep, settings: SettingsDep, body: ChatRequest
) -> ChatResponse:
    # The session is synchronous: database work runs in the thread pool, the agent on the loop.
    conversation, past = await run_in_threadpool(_begin_turn, session, user_id, body)
    agent = _agent()
    reply = await agent.respond(
        user_id=user_id, history=past, message=body.message, settings=settings
    )
    await run_in_threadpool(_store_reply, session, conversation, reply)
    return _response(conversation.id, reply, settings)


@router.post(
    "/chat/stream",
    response_class=StreamingResponse,
    responses={**NOT_FOUND, **STREAM_RESPONSES, **TOO_MANY},
    dependencies=[CHAT_LIMIT],
)
async def chat_stream(
    request: Request,
    user_id: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    body: ChatRequest,
) -> StreamingResponse:
    # An unknown conversation is a plain 404 before the stream starts.
    conversation, past = await run_in_threadpool(_begin_turn, session, user_id, body)
    events = _events(request, user_id, conversation.id, past, body.message, settings)
    # No buffering by proxies (nginx honours the header), so each event reaches the browser.
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


async def _events(
    request: Request,
    user_id: str,
    conversation_id: int,
    past: list[dict],
    message: str,
    settings: Settings,
) -> AsyncIterator[str]:
    agent = _agent()
    async for event in agent.stream(
        user_id=user_id, history=past, message=message, settings=settings
    ):
        if isinstance(event, str):
            yield _sse({"type": "delta", "text": event})
        elif isinstance(event, agent.ToolCall):
            yield _sse({"type": "tool_call", **event.as_dict()})
        else:
            # The request's session may be closed by now: the reply gets a session of its own.
            sessions = request.app.state.sessionmaker
            await run_in_threadpool(_store_reply_by_id, sessions, user_id, conversation_id, event)
            done = _response(conversation_id, event, settings)
            yield _sse({"type": "done", **done.model_dump(mode="json")})


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, default=str)}\n\n"


def _begin_turn(
    session: Session, user_id: str, body: ChatRequest
) -> tuple[Conversation, list[dict]]:
    """The conversation and its history before this turn; the user's message is then stored."""
    return conversations.begin_turn(session, user_id, body.conversation_id, body.message)


def _store_reply(session: Session, conversation: Conversation, reply: AgentReply) -> None:
    conversations.add_message(
        session,
        conversation,
        "assistant",
        reply.response,
        tool_calls=[call.as_dict() for call in reply.tool_calls],
        pending_action=reply.pending_action,
    )


def _store_reply_by_id(
    sessions: sessionmaker[Session], user_id: str, conversation_id: int, reply: AgentReply
) -> None:
    with sessions() as session:
        conversation = conversations.get_conversation(session, user_id, conversation_id)
        _store_reply(session, conversation, reply)


def _response(conversation_id: int, reply: AgentReply, settings: Settings) -> ChatResponse:
    return ChatResponse(
        conversation_id=conversation_id,
        response=reply.response,
        tool_calls=[ToolCallOut(**call.as_dict()) for call in reply.tool_calls],
        mode=_agent().mode(settings),
    )
