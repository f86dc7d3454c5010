"""What an agent hands back to the chat route: its answer, the tools it called, what it awaits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ToolCall:
    name: str
    arguments: dict
    result: Any

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AgentReply:
    response: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    # A change the agent asked the user to confirm or choose for; stored with the message, so
    # the next turn (on any replica) can act on "yes" or "the first one".
    pending_action: dict[str, Any] | None = None


# What an agent's stream yields: text as it is written, each tool call once it has a result, and
# last the whole reply (whose response is the text to keep, even if the deltas said otherwise).
AgentEvent = str | ToolCall | AgentReply
