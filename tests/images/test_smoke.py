"""Smoke run of the four images together on the host engine.

PostgreSQL, migrations, MCP server, back end and front end share one user-defined bridge
network, as in the cluster (read-only root, /tmp writable, uid 10001); ports are published on
127.0.0.1 only, and nothing is configured to call anywhere else (no OpenAI key, no telemetry).

Tokens: the back end verifies JWTs against a JWKS URL. Rather than driving better-auth's sign-up
through the front end (that is the e2e test's job), the test signs an Ed25519 JWT itself and
serves the public key as a static JWKS from a container on the network. That exercises the real
verification path with nothing to go wrong but the images under test.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.support.cold_start import loopback_session, wait_for_ok
from todo_deploy.base.engine import DockerCli
from todo_deploy.day2.portforward import free_loopback_port
from todo_deploy.steps.images import BUILD_TIMEOUT, BuiltImage

pytestmark = [pytest.mark.docker, pytest.mark.timeout(BUILD_TIMEOUT)]

STARTUP_SECONDS = 90.0
KID = "smoke-key"


class Stack:
    """Containers on one network, removed (with the network) on exit; logs kept for failures."""

    def __init__(self, docker: DockerCli) -> None:
        self.docker = docker
        self.suffix = uuid.uuid4().hex[:8]
        self.network = f"todo-smoke-{self.suffix}"
        self.containers: list[str] = []

    def __enter__(self) -> Stack:
        self.docker.run("network", "create", self.network, step="create network")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.containers:
            self.docker.run("rm", "--force", *self.containers, step="remove", check=False)
        self.docker.run("network", "rm", self.network, step="remove network", check=False)

    def start(
        self,
        alias: str,
        ref: str,
        *,
        env: dict[str, str],
        port: int = 0,
        options: tuple[str, ...] = (),
        command: tuple[str, ...] = (),
    ) -> int:
        """Run `ref` detached as `alias`; return the loopback port `port` is published on."""
        host_port = free_loopback_port() if port else 0
        publish = [f"--publish=127.0.0.1:{host_port}:{port}"] if port else []
        name = f"{alias}-{self.suffix}"
        self.docker.run(
            "run", "--detach", f"--name={name}", f"--network={self.network}",
            f"--network-alias={alias}", "--read-only", "--tmpfs=/tmp", *publish,
            *[f"--env={k}={v}" for k, v in env.items()], *options, ref, *command,
            step=f"start {alias}",
        )  # fmt: skip
        self.containers.append(name)
        return host_port

    def run_once(self, ref: str, *command: str, env: dict[str, str]) -> str:
        return self.docker.run(
            "run", "--rm", f"--network={self.network}", "--read-only", "--tmpfs=/tmp",
            *[f"--env={k}={v}" for k, v in env.items()], ref, *command,
            step=f"{ref} {' '.join(command)}", timeout=180,
        ).stdout  # fmt: skip

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n"
            + self.docker.run("logs", "--tail=25", name, check=False, step="logs").stderr[-3000:]
            for name in self.containers
        )


@pytest.fixture
def signing(tmp_path: Path) -> tuple[Ed25519PrivateKey, Path]:
    """An Ed25519 key and a folder holding its public JWKS, readable by uid 10001."""
    key = Ed25519PrivateKey.generate()
    jwk = json.loads(OKPAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=KID, alg="EdDSA", use="sig")
    folder = tmp_path / "jwks"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    (folder / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    (folder / "jwks.json").chmod(0o644)
    return key, folder


# What better-auth's sign-in writes, run in the back-end image as the schema's owner: the back
# end accepts a token only while its session row (`sid`) lives.
SIGN_IN = """
import os, sys, psycopg
user, sid = sys.argv[1:3]
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as db:
    db.execute('INSERT INTO "user" (id, name, email, "emailVerified") VALUES (%s, %s, %s, false)',
               (user, user, user + "@example.test"))
    db.execute('INSERT INTO session (id, "expiresAt", token, "updatedAt", "userId") '
               "VALUES (%s, now() + interval '1 hour', %s, now(), %s)", (sid, sid + "-t", user))
"""


def _token(key: Ed25519PrivateKey, user_id: str, sid: str) -> str:
    now = int(time.time())
    # The issuer and audience better-auth signs with (docs/contract.md, Tokens).
    claims = {"sub": user_id, "sid": sid, "iss": "todo-frontend", "aud": "todo-backend",
              "iat": now, "exp": now + 300}  # fmt: skip
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": KID})


async def _call_tool(url: str, token: str, tool: str, arguments: dict) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    # trust_env=False: loopback traffic never goes through a proxy from the environment.
    async with (
        httpx.AsyncClient(headers=headers, trust_env=False, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool(tool, arguments)
    assert not result.isError, result.content
    return json.dumps(result.structuredContent) + "".join(
        getattr(part, "text", "") for part in result.content
    )


@pytest.fixture
def stack(docker: DockerCli) -> Iterator[Stack]:
    with Stack(docker) as running:
        yield running


def test_stack_serves_a_task_from_rest_to_mcp_and_back(
    built: dict[str, BuiltImage], stack: Stack, signing
) -> None:
    key, jwks_dir = signing
    password, mcp_token = secrets.token_hex(16), secrets.token_hex(24)
    stack.docker.runner.add_secrets([password, mcp_token])
    database = f"postgresql://todo:{password}@todo-postgres:5432/todo"
    backend = built["backend"].ref

    stack.start(
        "todo-postgres", built["postgres"].ref,
        env={"POSTGRES_USER": "todo", "POSTGRES_PASSWORD": password, "POSTGRES_DB": "todo"},
        options=("--tmpfs=/var/lib/postgresql/data:uid=10001,gid=10001,mode=0700",
                 "--tmpfs=/var/run/postgresql:uid=10001,gid=10001"),
    )  # fmt: skip
    # Migrations first, as the init container does (it waits for PostgreSQL itself).
    stack.run_once(backend, "python", "-m", "todo_backend.migrate", env={"DATABASE_URL": database})
    stack.start(
        "todo-jwks", backend, env={}, options=(f"--volume={jwks_dir}:/srv:ro",),
        command=("python", "-m", "http.server", "8080", "--directory", "/srv"),
    )  # fmt: skip
    mcp_port = stack.start(
        "todo-mcp",
        built["mcp"].ref,
        env={
            "DATABASE_URL": database,
            "MCP_API_TOKEN": mcp_token,
            "MCP_ALLOWED_HOSTS": "todo-mcp:8001,127.0.0.1:*",
        },
        port=8001,
    )
    backend_port = stack.start(
        "todo-backend",
        backend,
        env={
            "DATABASE_URL": database,
            "AUTH_JWKS_URL": "http://todo-jwks:8080/jwks.json",
            "MCP_SERVER_URL": "http://todo-mcp:8001/mcp",
            "MCP_API_TOKEN": mcp_token,
        },
        port=8000,
    )
    frontend_port = stack.start(
        "todo-frontend",
        built["frontend"].ref,
        env={
            "DATABASE_URL": database,
            "BETTER_AUTH_SECRET": secrets.token_hex(32),
            "BETTER_AUTH_URL": "http://127.0.0.1:3000",
            "BACKEND_URL": "http://todo-backend:8000",
            "BETTER_AUTH_TELEMETRY": "0",
        },
        port=3000,
    )

    urls = [
        f"http://127.0.0.1:{backend_port}/health",
        f"http://127.0.0.1:{backend_port}/ready",
        f"http://127.0.0.1:{mcp_port}/health",
        f"http://127.0.0.1:{frontend_port}/api/health",
    ]
    deadline = time.monotonic() + STARTUP_SECONDS
    for url in urls:
        try:
            wait_for_ok(url, deadline)
        except TimeoutError as error:
            pytest.fail(f"{error}\n{stack.logs()}")

    # A page the front end renders from the database (better-auth's session lookup).
    page = loopback_session().get(f"http://127.0.0.1:{frontend_port}/sign-in", timeout=30)
    assert page.status_code == 200, f"{page.status_code}\n{stack.logs()}"

    user_id, sid = f"smoke-{stack.suffix}", f"session-{stack.suffix}"
    stack.run_once(backend, "python", "-c", SIGN_IN, user_id, sid, env={"DATABASE_URL": database})
    http = loopback_session()
    http.headers["Authorization"] = f"Bearer {_token(key, user_id, sid)}"
    tasks_url = f"http://127.0.0.1:{backend_port}/api/{user_id}/tasks"
    created = http.post(tasks_url, json={"title": "made through REST"}, timeout=10)
    assert created.status_code == 201, f"{created.status_code} {created.text}\n{stack.logs()}"

    mcp_url = f"http://127.0.0.1:{mcp_port}/mcp"
    listed = asyncio.run(_call_tool(mcp_url, mcp_token, "list_tasks", {"user_id": user_id}))
    assert "made through REST" in listed

    asyncio.run(
        _call_tool(mcp_url, mcp_token, "add_task", {"user_id": user_id, "title": "made via MCP"})
    )
    titles = [task["title"] for task in http.get(tasks_url, timeout=10).json()]
    assert titles == ["made through REST", "made via MCP"]
    # Someone else's token is refused: the back end really checks `sub` against the path.
    other = http.get(tasks_url, headers={"Authorization": f"Bearer {_token(key, 'x', sid)}"})
    assert other.status_code == 403
