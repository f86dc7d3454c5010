"""Request and response bodies. Task field rules are the domain layer's (its messages reach the
user); the models only describe them in the OpenAPI schema, so clients can tell valid input."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from todo_backend.db.models import DESCRIPTION_MAX, TITLE_MAX
from todo_backend.domain.text import unstorable

# Ids are 32-bit integer columns (PostgreSQL `integer`): a larger one cannot name a row.
ID_MAX = 2**31 - 1


def _json_number(value: object) -> object:
    """JSON Schema's integer: 7 or 7.0, never `true` or "7" (which pydantic would coerce)."""
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


Id = Annotated[int, Field(ge=1, le=ID_MAX), BeforeValidator(_json_number)]
# A title is stripped (str.strip) and must keep a character: one that is whitespace neither to
# Python nor to JSON Schema's regex dialect, which leaves out \x1c-\x1f and \x85.
Title = Annotated[
    str, Field(json_schema_extra={"maxLength": TITLE_MAX, "pattern": r"[^\s\x1c-\x1f\x85]"})
]
Description = Annotated[str, Field(json_schema_extra={"maxLength": DESCRIPTION_MAX})]


class TaskCreate(BaseModel):
    title: Title
    description: Description | None = None


class TaskUpdate(BaseModel):
    """Fields to change; omitted ones stay. An empty description clears it."""

    title: Title | None = None
    description: Description | None = None


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: str
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime


def _storable(text: str) -> str:
    reason = unstorable(text)
    if reason:
        raise ValueError(reason)
    return text


class ChatRequest(BaseModel):
    conversation_id: Id | None = None
    # Checked before the turn begins: a message the database refuses stores nothing at all.
    message: Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_storable)]


class ToolCallOut(BaseModel):
    name: str
    arguments: dict[str, Any]
    result: Any


class ErrorOut(BaseModel):
    """What 401, 403, 404 and 503 answers carry."""

    detail: str


AgentMode = Literal["offline", "openai"]


class ChatResponse(BaseModel):
    conversation_id: int
    response: str
    tool_calls: list[ToolCallOut]
    # "offline": the built-in command parser (no OPENAI_API_KEY); "openai": a model.
    mode: AgentMode


class AssistantOut(BaseModel):
    mode: AgentMode


class ConversationOut(BaseModel):
    id: int
    title: str
    created_at: datetime
    updated_at: datetime


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    # Pass as `before` for the next page; null on the last page.
    next_before: int | None


class MessageOut(BaseModel):
    id: int
    role: Literal["user", "assistant"]
    content: str
    created_at: datetime
    tool_calls: list[ToolCallOut]


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]
