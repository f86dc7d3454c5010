"""What an agent hands back to the chat route: its answer and the tools it called."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolCall:
    name: str
    arguments: dict
    result: Any


@dataclass
class AgentReply:
    response: str
    tool_calls: list[ToolCall] = field(default_factory=list)
