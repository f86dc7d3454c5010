"""Conversation rules: the chat keeps no state in the process, only these rows."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from todo_backend.db.models import Conversation, Message, utcnow

Role = Literal["user", "assistant"]


class ConversationNotFound(LookupError):
    def __init__(self, conversation_id: int) -> None:
        super().__init__(f"conversation {conversation_id} not found")
        self.conversation_id = conversation_id


def get_or_create_conversation(
    session: Session, user_id: str, conversation_id: int | None
) -> Conversation:
    """The user's conversation with this id, or a new one when no id is given."""
    if conversation_id is None:
        created = Conversation(user_id=user_id)
        session.add(created)
        session.commit()
        return created
    found = session.get(Conversation, conversation_id)
    if found is None or found.user_id != user_id:
        raise ConversationNotFound(conversation_id)
    return found


def history(session: Session, conversation: Conversation) -> list[dict[str, str]]:
    """The messages so far, oldest first, as the agent expects them."""
    rows = session.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
    )
    return [{"role": row.role, "content": row.content} for row in rows]


def add_message(session: Session, conversation: Conversation, role: Role, content: str) -> Message:
    message = Message(
        user_id=conversation.user_id,
        conversation_id=conversation.id,
        role=role,
        content=content,
    )
    session.add(message)
    conversation.updated_at = utcnow()
    session.commit()
    return message
