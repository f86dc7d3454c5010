"""`POST /api/{user_id}/chat`: one turn with the assistant, persisted so any replica can resume."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from todo_backend.api.deps import ERROR_RESPONSES, NOT_FOUND, CurrentUser, SessionDep, SettingsDep
from todo_backend.api.schemas import ChatRequest, ChatResponse, ToolCallOut
from todo_backend.domain import conversations

router = APIRouter(prefix="/api/{user_id}", tags=["chat"], responses=ERROR_RESPONSES)


@router.post("/chat", response_model=ChatResponse, responses=NOT_FOUND)
async def chat(
    user_id: CurrentUser, session: SessionDep, settings: SettingsDep, body: ChatRequest
) -> ChatResponse:
    # The session is synchronous: database work runs in the thread pool, the agent on the loop.
    conversation = await run_in_threadpool(
        conversations.get_or_create_conversation, session, user_id, body.conversation_id
    )
    past = await run_in_threadpool(conversations.history, session, conversation)
    await run_in_threadpool(conversations.add_message, session, conversation, "user", body.message)

    # Imported on first use: the agent brings in the OpenAI and MCP client stacks.
    from todo_backend import agent

    reply = await agent.respond(
        user_id=user_id, history=past, message=body.message, settings=settings
    )
    await run_in_threadpool(
        conversations.add_message, session, conversation, "assistant", reply.response
    )
    return ChatResponse(
        conversation_id=conversation.id,
        response=reply.response,
        tool_calls=[
            ToolCallOut(name=call.name, arguments=call.arguments, result=call.result)
            for call in reply.tool_calls
        ],
    )
