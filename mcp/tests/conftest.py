"""Fixtures: a SQLite database with the real schema, the server in process, and over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.memory import create_connected_server_and_client_session
from sqlalchemy.orm import Session, sessionmaker

from todo_backend.db.session import make_engine, make_sessionmaker
from todo_backend.migrate import upgrade
from todo_mcp.app import build_server, create_app
from todo_mcp.config import McpSettings

TOKEN = "test-token-0123456789"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'todo.db'}"
    upgrade(url)  # the schema the back end's Alembic migrations make, as in production
    return url


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(database_url))


@pytest.fixture
async def client(sessions: sessionmaker[Session]) -> AsyncIterator[ClientSession]:
    """An MCP client session connected to the server in memory (no HTTP)."""
    server = build_server(sessions, allowed_hosts=["127.0.0.1:*"])
    async with create_connected_server_and_client_session(server) as session:
        yield session


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
def live_server(database_url: str) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, in a thread; yields its base URL."""
    settings = McpSettings(
        database_url=database_url, mcp_api_token=TOKEN, mcp_allowed_hosts="127.0.0.1:*"
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    _wait_until_healthy(base)
    yield base
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _wait_until_healthy(base: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"MCP server at {base} did not become healthy in {timeout} s")


@pytest.fixture
def connect():
    """`async with connect(url, token) as session`: an MCP client session over streamable HTTP."""
    return _http_session


@asynccontextmanager
async def _http_session(url: str, token: str) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(headers=headers, timeout=10) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session
