"""Conversation rules: the chat keeps no state in the process, only these rows.

A conversation id that belongs to another user raises ConversationNotFound exactly like an unknown
id, so callers never reveal that it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from todo_backend.db.models import Conversation, Message, utcnow

Role = Literal["user", "assistant"]
UNTITLED = "New conversation"
TITLE_CUT = 60
PAGE_MAX = 100


class ConversationNotFound(LookupError):
    def __init__(self, conversation_id: int) -> None:
        super().__init__(f"conversation {conversation_id} not found")
        self.conversation_id = conversation_id


@dataclass(frozen=True)
class Page:
    """One page of the list; `next_before` continues it, None on the last page."""

    items: list[Conversation]
    next_before: int | None


def make_title(message: str) -> str:
    """The first words of `message`, cut at a word boundary near TITLE_CUT characters."""
    text = " ".join(message.split())
    if len(text) <= TITLE_CUT:
        return text or UNTITLED
    cut = text[:TITLE_CUT].rsplit(" ", 1)[0] or text[:TITLE_CUT]
    return cut.rstrip(",.;:!? ") + "\u2026"


def title_of(conversation: Conversation) -> str:
    return conversation.title or UNTITLED


def get_conversation(session: Session, user_id: str, conversation_id: int) -> Conversation:
    found = session.get(Conversation, conversation_id)
    if found is None or found.user_id != user_id:
        raise ConversationNotFound(conversation_id)
    return found


def get_or_create_conversation(
    session: Session, user_id: str, conversation_id: int | None
) -> Conversation:
    """The user's conversation with this id, or a new one when no id is given."""
    if conversation_id is not None:
        return get_conversation(session, user_id, conversation_id)
    created = Conversation(user_id=user_id)
    session.add(created)
    session.commit()
    return created


def begin_turn(
    session: Session, user_id: str, conversation_id: int | None, message: str
) -> tuple[Conversation, list[dict[str, Any]]]:
    """The conversation (new when no id is given) and its history before this turn, with the
    user's message stored: all in one transaction, so a turn that fails leaves no conversation
    without its message behind."""
    if conversation_id is not None:
        conversation = get_conversation(session, user_id, conversation_id)
    else:
        conversation = Conversation(user_id=user_id)
        session.add(conversation)
        session.flush()  # its id, for the message; committed with it
    past = history(session, conversation)
    try:
        add_message(session, conversation, "user", message)
    except Exception:
        session.rollback()
        raise
    return conversation, past


def list_conversations(
    session: Session, user_id: str, limit: int = 20, before: int | None = None
) -> Page:
    """The user's conversations, most recently updated first; `before` is the last id seen.

    The cursor is the (updated_at, id) of that conversation, so pages neither repeat nor skip
    rows while older conversations stay untouched.
    """
    limit = max(1, min(limit, PAGE_MAX))
    order = (Conversation.updated_at.desc(), Conversation.id.desc())
    query = select(Conversation).where(Conversation.user_id == user_id)
    if before is not None:
        cursor = get_conversation(session, user_id, before)
        key = tuple_(Conversation.updated_at, Conversation.id)
        query = query.where(key < tuple_(cursor.updated_at, cursor.id))
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    return Page(rows[:limit], rows[limit - 1].id if more else None)


def messages_of(session: Session, conversation: Conversation) -> list[Message]:
    """The conversation's messages, oldest first."""
    query = select(Message).where(Message.conversation_id == conversation.id)
    return list(session.scalars(query.order_by(Message.id)))


def delete_conversation(session: Session, user_id: str, conversation_id: int) -> None:
    """Delete the conversation and its messages."""
    conversation = get_conversation(session, user_id, conversation_id)
    session.delete(conversation)  # the relationship cascades to the messages
    session.commit()


def history(session: Session, conversation: Conversation) -> list[dict[str, Any]]:
    """The messages so far, oldest first, with what an agent may need to resume from them."""
    return [
        {
            "role": row.role,
            "content": row.content,
            "tool_calls": row.tool_calls or [],
            "pending_action": row.pending_action,
        }
        for row in messages_of(session, conversation)
    ]


def add_message(
    session: Session,
    conversation: Conversation,
    role: Role,
    content: str,
    tool_calls: list[dict[str, Any]] | None = None,
    pending_action: dict[str, Any] | None = None,
) -> Message:
    """Store a message; the first user message names the conversation."""
    message = Message(
        user_id=conversation.user_id,
        conversation_id=conversation.id,
        role=role,
        content=content,
        tool_calls=tool_calls if role == "assistant" else None,
        pending_action=pending_action,
    )
    session.add(message)
    if role == "user" and conversation.title is None:
        conversation.title = make_title(content)
    conversation.updated_at = utcnow()
    session.commit()
    return message
