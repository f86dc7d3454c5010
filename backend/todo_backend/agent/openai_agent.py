"""The model-driven agent: an OpenAI Agents SDK agent using the MCP server's tools.

Any OpenAI-compatible endpoint works: the model is reached through the Chat Completions API with
the base URL, key and model from the settings. Tracing is off, so nothing leaves but model calls.
"""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    RunConfig,
    RunItem,
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
from openai.types.responses import ResponseFunctionToolCall

from todo_backend.agent.reply import AgentReply, ToolCall
from todo_backend.config import Settings

INSTRUCTIONS = """You are a friendly assistant that manages the user's todo list.
Use the tools for every change or question about tasks; never invent tasks or ids.
The user's id is {user_id}: pass exactly this as user_id to every tool.
When the user names a task by its title, call list_tasks first to find its id.
Answer briefly and say what you did."""
MAX_TURNS = 8
UNAVAILABLE = "Sorry, the assistant is unavailable right now. Please try again in a moment."

log = logging.getLogger(__name__)


async def respond(
    *, user_id: str, history: list[dict], message: str, settings: Settings
) -> AgentReply:
    if settings.openai_api_key is None:
        raise ValueError("the OpenAI agent needs OPENAI_API_KEY")
    api_key = settings.openai_api_key.get_secret_value()
    try:
        return await _run(user_id, history, message, settings, api_key)
    except Exception:  # model endpoint or MCP server down, refused, or a run that never settles
        log.exception("the OpenAI agent failed")
        return AgentReply(UNAVAILABLE)


async def _run(
    user_id: str, history: list[dict], message: str, settings: Settings, api_key: str
) -> AgentReply:
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
    client = AsyncOpenAI(base_url=settings.openai_base_url, api_key=api_key)
    async with client, tools:
        agent = Agent(
            name="Todo assistant",
            instructions=INSTRUCTIONS.format(user_id=user_id),
            model=OpenAIChatCompletionsModel(model=settings.openai_model, openai_client=client),
            mcp_servers=[tools],
        )
        result = await Runner.run(
            agent,
            cast(list[TResponseInputItem], [*history, {"role": "user", "content": message}]),
            max_turns=MAX_TURNS,
            run_config=RunConfig(tracing_disabled=True),
        )
    return AgentReply(response=str(result.final_output), tool_calls=_tool_calls(result.new_items))


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


def _tool_calls(items: list[RunItem]) -> list[ToolCall]:
    """The function calls of a run (MCP tools are function tools), in order, with their outputs."""
    outputs = {
        cast(dict[str, Any], item.raw_item).get("call_id"): _decode(item.output)
        for item in items
        if isinstance(item, ToolCallOutputItem)
    }
    calls = [
        item.raw_item
        for item in items
        if isinstance(item, ToolCallItem) and isinstance(item.raw_item, ResponseFunctionToolCall)
    ]
    return [
        ToolCall(call.name, json.loads(call.arguments or "{}"), outputs.get(call.call_id))
        for call in calls
    ]


def _decode(output: Any) -> Any:
    """Tool outputs are JSON text on success, a text item on failure: return plain data."""
    if isinstance(output, dict) and output.get("type") == "text":
        return {"error": output["text"]}
    try:
        return json.loads(output)
    except (TypeError, ValueError):
        return output
