"""The server over real HTTP: uvicorn on a loopback port, the SDK's streamable HTTP client."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.anyio

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


async def test_tools_work_over_http_with_the_token(live_server: str, connect, token: str) -> None:
    async with connect(f"{live_server}/mcp", token) as session:
        added = await session.call_tool("add_task", {"user_id": "u1", "title": "buy milk"})
        assert added.structuredContent["status"] == "created"
        listed = await session.call_tool("list_tasks", {"user_id": "u1"})
        assert [task["title"] for task in listed.structuredContent["result"]] == ["buy milk"]
        missing = await session.call_tool("complete_task", {"user_id": "u1", "task_id": 404})
        assert missing.isError and "task 404 not found" in missing.content[0].text


def test_health_is_open(live_server: str) -> None:
    response = httpx.get(f"{live_server}/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic {token}", "{token}"])
def test_requests_without_the_right_token_are_refused(
    live_server: str, token: str, authorization: str | None
) -> None:
    headers = MCP_HEADERS | (
        {"Authorization": authorization.format(token=token)} if authorization else {}
    )
    response = httpx.post(f"{live_server}/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert token not in response.text


async def test_the_sdk_client_is_refused_with_a_wrong_token(live_server: str, connect) -> None:
    with pytest.RaisesGroup(httpx.HTTPStatusError, flatten_subgroups=True) as raised:
        async with connect(f"{live_server}/mcp", "wrong-token"):
            pass
    assert raised.value.exceptions[0].response.status_code == 401


def test_the_right_token_is_accepted(live_server: str, token: str) -> None:
    headers = MCP_HEADERS | {"Authorization": f"Bearer {token}"}
    response = httpx.post(f"{live_server}/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 200
    assert response.json()["result"]["serverInfo"]["name"] == "todo"


def test_a_host_not_allowed_is_refused(live_server: str, token: str) -> None:
    # DNS-rebinding protection: a name that is not in MCP_ALLOWED_HOSTS gets 421.
    headers = MCP_HEADERS | {"Authorization": f"Bearer {token}", "Host": "evil.example:8001"}
    response = httpx.post(f"{live_server}/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 421


def test_a_browser_origin_is_refused(live_server: str, token: str) -> None:
    headers = MCP_HEADERS | {"Authorization": f"Bearer {token}", "Origin": "http://todo.local"}
    response = httpx.post(f"{live_server}/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 403
