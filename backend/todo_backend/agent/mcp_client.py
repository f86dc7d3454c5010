"""A client session on the MCP server, authenticated with the shared bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

# A tool call is one short database operation; waiting longer only delays the error reply.
TIMEOUT = httpx.Timeout(10.0, read=30.0)


@asynccontextmanager
async def tool_session(url: str, token: str) -> AsyncIterator[ClientSession]:
    """An initialised MCP session on `url`; connection failures surface as exception groups."""
    async with (
        httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write, read_timeout_seconds=timedelta(seconds=30)) as session,
    ):
        await session.initialize()
        yield session
