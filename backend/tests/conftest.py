"""Fixtures: SQLite and real PostgreSQL databases, a local JWKS server, signed tokens, a client."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from jwks_http import serve_json
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.orm import Session

from todo_backend.app import create_app
from todo_backend.config import Settings
from todo_backend.db.session import make_engine, make_sessionmaker
from todo_backend.migrate import upgrade


def missing_tool(reason: str) -> None:
    """Skip on a user's machine; in CI a missing tool is a failure, never a silent skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    return free_port()


# --- PostgreSQL -------------------------------------------------------------------------------


def _as_postgres_user() -> list[str]:
    # initdb refuses to run as root; the Debian package creates a `postgres` account.
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        missing_tool("running as root and there is no `postgres` user to run initdb as")
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """An admin URL: TEST_DATABASE_URL, or a throwaway server on 127.0.0.1 started here."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        missing_tool("PostgreSQL is not installed (apt-get install -y postgresql)")
    bindir, prefix = Path(binaries[-1]).parent, _as_postgres_user()

    def run(program: str, *args: str) -> None:
        subprocess.run([*prefix, str(bindir / program), *args], check=True, capture_output=True)

    home = Path(tempfile.mkdtemp(prefix="todo-pg-"))
    if prefix:
        shutil.chown(home, "postgres", "postgres")
    data, port = str(home / "data"), free_port()
    run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync")
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
    run("pg_ctl", "-D", data, "-o", options, "-l", str(home / "log"), "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run("pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


# --- either database --------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'todo.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def migrated_url(database_url: str) -> str:
    upgrade(database_url)
    return database_url


@pytest.fixture
def session(migrated_url: str) -> Iterator[Session]:
    engine = make_engine(migrated_url)
    with make_sessionmaker(engine)() as db:
        yield db
    engine.dispose()


# --- auth -------------------------------------------------------------------------------------


class JwksServer:
    """better-auth's JWKS endpoint, played by a real HTTP server on 127.0.0.1."""

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.requests = 0
        self.httpd = serve_json(0, self._answer)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/api/auth/jwks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _answer(self) -> dict:
        self.requests += 1
        return self.document()

    def add_key(self) -> str:
        kid = uuid.uuid4().hex
        self.keys[kid] = Ed25519PrivateKey.generate()
        return kid

    def document(self) -> dict[str, list[dict]]:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": "EdDSA"})
        return {"keys": keys}

    def sign(self, claims: dict, kid: str | None = None) -> str:
        kid = kid or next(iter(self.keys))
        return jwt.encode(claims, self.keys[kid], algorithm="EdDSA", headers={"kid": kid})


@pytest.fixture(scope="session")
def jwks() -> Iterator[JwksServer]:
    server = JwksServer()
    server.add_key()
    yield server
    server.httpd.shutdown()


TokenFactory = Callable[..., str]
# The databases a test may use, in the order a token's session row goes into the first present.
SESSION_DATABASES = ("migrated_url", "agent_database", "postgres_url")


def sign_in(url: str, user_id: str, lifetime: int = 3600) -> str:
    """What better-auth's sign-in writes: a user and a session row; returns the session id."""
    session_id = uuid.uuid4().hex
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                'INSERT INTO "user" (id, name, email, "emailVerified") '
                "VALUES (:id, :id, :email, false) ON CONFLICT (id) DO NOTHING"
            ),
            {"id": user_id, "email": f"{user_id}@example.com"},
        )
        expires = datetime.now(UTC) + timedelta(seconds=lifetime)
        connection.execute(
            text(
                'INSERT INTO session (id, "expiresAt", token, "updatedAt", "userId") '
                "VALUES (:id, :expires, :token, :expires, :user_id)"
            ),
            {"id": session_id, "expires": expires, "token": uuid.uuid4().hex, "user_id": user_id},
        )
    engine.dispose()
    return session_id


@pytest.fixture(scope="session")
def signed_in() -> Callable[..., str]:
    """`sign_in` for tests that need a session row of their own (an expired one, say)."""
    return sign_in


@pytest.fixture
def make_token(jwks: JwksServer, request: pytest.FixtureRequest) -> TokenFactory:
    """Tokens as better-auth mints them: iss, aud and the `sid` of a live session row.

    `sid=...` signs a token for a given session instead (e.g. one already signed out); a claim
    given as None is left out.
    """

    def make(sub: str, lifetime: int = 300, kid: str | None = None, **claims: object) -> str:
        if "sid" not in claims:
            database = next(name for name in SESSION_DATABASES if name in request.fixturenames)
            claims["sid"] = sign_in(request.getfixturevalue(database), sub)
        now = int(time.time())
        standard = {"iss": "todo-frontend", "aud": "todo-backend"}
        payload = {"sub": sub, "iat": now, "exp": now + lifetime, **standard, **claims}
        return jwks.sign({k: v for k, v in payload.items() if v is not None}, kid=kid)

    return make


@pytest.fixture
def unreachable_settings(jwks: JwksServer) -> Settings:
    """Settings whose database and MCP server do not exist: for tests that choose their own."""
    return Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        auth_jwks_url=jwks.url,
        mcp_server_url="http://127.0.0.1:9/mcp",
        mcp_api_token="test-mcp-token",
    )


@pytest.fixture
def settings(unreachable_settings: Settings, database_url: str) -> Settings:
    """Settings for the test database, which is not migrated yet (`client` migrates it)."""
    return unreachable_settings.model_copy(update={"database_url": database_url})


@pytest.fixture
def client(settings: Settings, migrated_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


# --- server processes -------------------------------------------------------------------------

Spawn = Callable[[list[str], dict[str, str], int], Path]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start `python -m ...` servers on 127.0.0.1, wait for /health, stop them afterwards.

    Returns the path of the process's combined output, for log assertions and failure reports.
    """
    processes: list[subprocess.Popen] = []

    def start(argv: list[str], env: dict[str, str], port: int) -> Path:
        log = tmp_path / f"{argv[0]}-{port}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", *argv],
                env=os.environ | env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        _wait_for_health(f"http://127.0.0.1:{port}/health", process, log)
        return log

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_health(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited: {log.read_text()}"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s: {log.read_text()}")


MCP_TOKEN = "test-mcp-token"


@pytest.fixture
def chat_settings(settings: Settings, migrated_url: str, spawn: Spawn) -> Settings:
    """Settings pointing at a real `python -m todo_mcp` over the test database."""
    port = free_port()
    env = {
        "DATABASE_URL": migrated_url,
        "MCP_API_TOKEN": MCP_TOKEN,
        "MCP_ALLOWED_HOSTS": f"127.0.0.1:{port}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    spawn(["todo_mcp"], env, port)
    return settings.model_copy(
        update={
            "mcp_server_url": f"http://127.0.0.1:{port}/mcp",
            "mcp_api_token": SecretStr(MCP_TOKEN),
        }
    )


@pytest.fixture
def auth(make_token: TokenFactory) -> Callable[[str], dict[str, str]]:
    """Headers that sign a request in as `user_id`."""
    return lambda user_id: {"Authorization": f"Bearer {make_token(user_id)}"}
