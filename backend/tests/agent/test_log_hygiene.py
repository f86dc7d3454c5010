"""At INFO, the deployed level, a chat turn logs nothing of what the user typed: not the tool's
arguments (the MCP client's and the agent's), nor SQL parameters. DEBUG shows both, which is
why the cluster never runs it (tests/chart) and why this test can tell."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from todo_backend.agent import respond
from todo_backend.config import Settings
from todo_backend.logs import configure_logging

MARKER = "zebra-tool-argument"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.mark.anyio
@pytest.mark.parametrize(("level", "leaks"), [("INFO", False), ("DEBUG", True)])
async def test_a_chat_turn_logs_no_tool_arguments_at_info(
    agent_settings: Settings, user_id: str, capsys, restore_logging, level: str, leaks: bool
) -> None:
    configure_logging(level)
    reply = await respond(
        user_id=user_id, history=[], message=f"add {MARKER}", settings=agent_settings
    )
    assert reply.tool_calls, reply  # the turn did call a tool with the marker as its title
    logged = capsys.readouterr().out
    assert (MARKER in logged) is leaks, logged[-2000:]
