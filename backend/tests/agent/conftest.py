"""Fixtures for the chat agent: one real MCP server process on loopback, on a migrated SQLite file.

The server is shared by a test module (starting it takes seconds); each test uses its own user id,
which the tools scope every task to, so tests cannot see each other's tasks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from todo_backend.config import Settings
from todo_backend.db.session import make_engine, make_sessionmaker
from todo_backend.migrate import upgrade

MCP_TOKEN = "agent-test-mcp-token"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def agent_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('agent') / 'todo.db'}"
    upgrade(url)
    return url


@contextmanager
def _serve_mcp(database_url: str, log: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {
        "DATABASE_URL": database_url,
        "MCP_API_TOKEN": MCP_TOKEN,
        "MCP_ALLOWED_HOSTS": f"127.0.0.1:{port}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "todo_mcp"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_health(f"http://127.0.0.1:{port}/health", process, log)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def serve_mcp():
    """`with serve_mcp(database_url, log_path) as url`: `python -m todo_mcp` on a free 127.0.0.1
    port, on that database, yielding its /mcp URL."""
    return _serve_mcp


@pytest.fixture(scope="module")
def mcp_server(agent_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _serve_mcp(agent_database, tmp_path_factory.mktemp("mcp") / "mcp.log") as url:
        yield url


def _wait_for_health(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the MCP server exited: {log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"the MCP server was not healthy within {timeout} s: {log.read_text()}")


@pytest.fixture
def agent_settings(agent_database: str, mcp_server: str) -> Settings:
    """The back end's settings, pointing at the live MCP server, with no OpenAI key."""
    return Settings(
        database_url=agent_database,
        auth_jwks_url="http://127.0.0.1:9/api/auth/jwks",  # unused: the agent never checks JWTs
        mcp_server_url=mcp_server,
        mcp_api_token=MCP_TOKEN,
        openai_api_key=None,
    )


@pytest.fixture
def sessions(agent_database: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(agent_database)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def user_id() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"
