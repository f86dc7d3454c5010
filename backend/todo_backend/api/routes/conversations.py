"""`/api/{user_id}/conversations`: list, read and delete the signed-in user's conversations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from todo_backend.api.deps import ERROR_RESPONSES, NOT_FOUND, CurrentUser, SessionDep
from todo_backend.api.rate_limit import TOO_MANY, WRITE_LIMIT
from todo_backend.api.schemas import (
    ID_MAX,
    ConversationDetail,
    ConversationOut,
    ConversationPage,
    MessageOut,
)
from todo_backend.db.models import Conversation
from todo_backend.domain import conversations
from todo_backend.domain.conversations import PAGE_MAX

ConversationId = Annotated[int, Path(ge=1, le=ID_MAX)]
router = APIRouter(
    prefix="/api/{user_id}/conversations", tags=["conversations"], responses=ERROR_RESPONSES
)


def _summary(conversation: Conversation) -> ConversationOut:
    return ConversationOut(
        id=conversation.id,
        title=conversations.title_of(conversation),
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
    )


@router.get("", response_model=ConversationPage, responses=NOT_FOUND)
def list_conversations(
    user_id: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 20,
    before: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="`next_before` of the previous page")
    ] = None,
) -> ConversationPage:
    """Most recently updated first; an unknown `before` id is 404."""
    page = conversations.list_conversations(session, user_id, limit=limit, before=before)
    return ConversationPage(
        items=[_summary(item) for item in page.items], next_before=page.next_before
    )


@router.get("/{conversation_id}", response_model=ConversationDetail, responses=NOT_FOUND)
def get_conversation(
    user_id: CurrentUser, session: SessionDep, conversation_id: ConversationId
) -> ConversationDetail:
    """The conversation with its messages, oldest first, and each reply's tool calls."""
    conversation = conversations.get_conversation(session, user_id, conversation_id)
    messages = [
        MessageOut.model_validate(
            {
                "id": message.id,
                "role": message.role,
                "content": message.content,
                "created_at": message.created_at,
                "tool_calls": message.tool_calls or [],
            }
        )
        for message in conversations.messages_of(session, conversation)
    ]
    return ConversationDetail(**_summary(conversation).model_dump(), messages=messages)


@router.delete(
    "/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**NOT_FOUND, **TOO_MANY},
    dependencies=[WRITE_LIMIT],
)
def delete_conversation(
    user_id: CurrentUser, session: SessionDep, conversation_id: ConversationId
) -> Response:
    """Delete the conversation and all its messages."""
    conversations.delete_conversation(session, user_id, conversation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
