"""The application's tables; the Alembic migrations mirror them and add better-auth's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

TITLE_MAX = 200
DESCRIPTION_MAX = 1000
CONVERSATION_TITLE_MAX = 80


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every database (SQLite forgets the zone, so restore UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Timestamped:
    # Set by Python so SQLite and PostgreSQL agree; server defaults cover rows written elsewhere.
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class Task(Timestamped, Base):
    __tablename__ = "task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX), nullable=True)
    completed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Conversation(Timestamped, Base):
    __tablename__ = "conversation"
    # The conversation list reads a user's conversations, most recently updated first.
    __table_args__ = (Index("ix_conversation_user_id_updated_at", "user_id", "updated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    # From the first user message, so the list needs no join; None until there is one.
    title: Mapped[str | None] = mapped_column(String(CONVERSATION_TITLE_MAX), nullable=True)
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id", cascade="all, delete-orphan"
    )


class Message(Base):
    __tablename__ = "message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    # The assistant's tool calls, [{name, arguments, result}], in order; None on user messages.
    tool_calls: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    # A change the assistant asked about and awaits an answer for (a confirmation, a choice).
    pending_action: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
    )
    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class RateLimit(Base):
    """A user's request count in one bucket (chat, write) for the window starting at
    window_start (epoch seconds); api/rate_limit.py moves it with one atomic upsert."""

    __tablename__ = "rate_limit"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(32), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
