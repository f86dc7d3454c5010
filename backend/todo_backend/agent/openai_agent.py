"""The model-driven agent: an OpenAI Agents SDK agent using the MCP server's tools.

Any OpenAI-compatible endpoint works: the model is reached through the Chat Completions API with
the base URL, key and model from the settings. Tracing is off, so nothing leaves but model calls.
The run is always streamed: text and tool results go out as they come, and a run that fails
half-way still reports the tool calls that had finished.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    RawResponsesStreamEvent,
    RunConfig,
    RunItemStreamEvent,
    Runner,
    ToolCallItem,
    ToolCallOutputItem,
    ToolGuardrailFunctionOutput,
    ToolInputGuardrail,
    ToolInputGuardrailData,
    TResponseInputItem,
    tool_input_guardrail,
)
from agents.mcp import MCPServerStreamableHttp
from openai import AsyncOpenAI
from openai.types.responses import ResponseFunctionToolCall, ResponseTextDeltaEvent

from todo_backend.agent import outcome
from todo_backend.agent.reply import AgentEvent, AgentReply, ToolCall
from todo_backend.config import Settings

INSTRUCTIONS = """You are a friendly assistant that manages the user's todo list.
Use the tools for every change or question about tasks; never invent tasks or ids.
The user's id is {user_id}: pass exactly this as user_id to every tool.
When the user names a task by its title, call list_tasks first to find its id.
Before deleting a task the user named only by its title, ask them to confirm.
Your earlier replies end with a "Tools used:" line: use it to tell which task "it" is, and to
undo a change (reopen_task undoes complete_task; add_task with the deleted title and description
undoes delete_task; update_task with previous_title/previous_description undoes update_task).
Never write a "Tools used:" line yourself.
Answer briefly and say what you did."""
MAX_TURNS = 8
UNAVAILABLE = "Sorry, the assistant is unavailable right now. Please try again in a moment."
STOPPED = "Sorry, the assistant stopped before it could finish."

log = logging.getLogger(__name__)


async def stream(
    *, user_id: str, history: list[dict], message: str, settings: Settings
) -> AsyncIterator[AgentEvent]:
    if settings.openai_api_key is None:
        raise ValueError("the OpenAI agent needs OPENAI_API_KEY")
    calls: list[ToolCall] = []
    try:
        async for event in _run(user_id, history, message, settings, calls):
            yield event
    except Exception:  # model endpoint or MCP server down, refused, or a run that never settles
        log.exception("the OpenAI agent failed after %d tool call(s)", len(calls))
        failure = STOPPED if outcome.changes(calls) else UNAVAILABLE
        yield AgentReply(outcome.after_failure(calls, failure), calls)


async def _run(
    user_id: str, history: list[dict], message: str, settings: Settings, calls: list[ToolCall]
) -> AsyncIterator[AgentEvent]:
    """Stream one run, appending each finished tool call to `calls` (kept if the run fails)."""
    assert settings.openai_api_key is not None
    tools = MCPServerStreamableHttp(
        params={
            "url": settings.mcp_server_url,
            "headers": {"Authorization": f"Bearer {settings.mcp_api_token.get_secret_value()}"},
            "timeout": 10,
        },
        name="todo",
        client_session_timeout_seconds=30,  # as long as the offline agent waits for a tool
        cache_tools_list=True,
        use_structured_content=True,
        tool_input_guardrails=[_only_for(user_id)],
    )
    client = AsyncOpenAI(
        base_url=settings.openai_base_url, api_key=settings.openai_api_key.get_secret_value()
    )
    requested: dict[str, ResponseFunctionToolCall] = {}
    async with client, tools:
        agent = Agent(
            name="Todo assistant",
            instructions=INSTRUCTIONS.format(user_id=user_id),
            model=OpenAIChatCompletionsModel(model=settings.openai_model, openai_client=client),
            mcp_servers=[tools],
        )
        run = Runner.run_streamed(
            agent,
            cast(list[TResponseInputItem], _model_input(history, message)),
            max_turns=MAX_TURNS,
            run_config=RunConfig(tracing_disabled=True),
        )
        async for event in run.stream_events():
            if isinstance(event, RawResponsesStreamEvent):
                if isinstance(event.data, ResponseTextDeltaEvent) and event.data.delta:
                    yield event.data.delta
            elif isinstance(event, RunItemStreamEvent):
                call = _tool_call(event, requested)
                if call is not None:
                    calls.append(call)
                    yield call
    yield AgentReply(response=str(run.final_output), tool_calls=list(calls))


def _model_input(history: list[dict], message: str) -> list[dict[str, str]]:
    """The conversation as chat messages; a reply's stored tool calls follow its text as one
    "Tools used:" line, so the model can resolve "it" and undo without re-listing."""
    past = [{"role": turn["role"], "content": _with_tools(turn)} for turn in history]
    return [*past, {"role": "user", "content": message}]


def _with_tools(turn: dict) -> str:
    calls = [
        {
            "name": call["name"],
            "arguments": {k: v for k, v in call["arguments"].items() if k != "user_id"},
            "result": call["result"],
        }
        for call in turn.get("tool_calls") or []
    ]
    if not calls:
        return turn["content"]
    return f"{turn['content']}\n\nTools used: {json.dumps(calls, default=str)}"


def _tool_call(
    event: RunItemStreamEvent, requested: dict[str, ResponseFunctionToolCall]
) -> ToolCall | None:
    """A finished tool call once its output arrives (MCP tools are function tools)."""
    item = event.item
    if isinstance(item, ToolCallItem) and isinstance(item.raw_item, ResponseFunctionToolCall):
        requested[item.raw_item.call_id] = item.raw_item
        return None
    if not isinstance(item, ToolCallOutputItem):
        return None
    call = requested.get(cast(dict[str, Any], item.raw_item).get("call_id", ""))
    if call is None:
        return None
    return ToolCall(call.name, json.loads(call.arguments or "{}"), _decode(item.output))


def _only_for(user_id: str) -> ToolInputGuardrail[Any]:
    """Refuse tool calls for any other user, whatever the model was talked into."""

    @tool_input_guardrail
    def same_user(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        arguments = json.loads(data.context.tool_arguments or "{}")
        if arguments.get("user_id") == user_id:
            return ToolGuardrailFunctionOutput.allow()
        return ToolGuardrailFunctionOutput.reject_content(
            f"Refused: tools may only be called with user_id {user_id}."
        )

    return same_user


def _decode(output: Any) -> Any:
    """Tool outputs are JSON text on success, a text item on failure: return plain data."""
    if isinstance(output, dict) and output.get("type") == "text":
        return {"error": output["text"]}
    try:
        return json.loads(output)
    except (TypeError, ValueError):
        return output
