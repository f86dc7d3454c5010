"""Property tests of the running back end against its own OpenAPI schema (schemathesis).

The app runs as the image starts it (`uvicorn todo_backend.main:app`) on 127.0.0.1, over a
SQLite file migrated with `python -m todo_backend.migrate`, verifying tokens against the local
JWKS server and talking to a real `python -m todo_mcp` for chat. Every generated request is
signed in as one user, and the path's {user_id} is that user, so the cases reach the handlers
instead of stopping at 403. Each operation gets a bounded number of examples; schemathesis's
checks assert no 5xx and that every status, header and body conforms to the schema.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode

from todo_backend.app import create_app
from todo_backend.config import Settings

if TYPE_CHECKING:  # conftest is a fixture module: test modules take its objects as fixtures
    from conftest import JwksServer

USER = "schemathesis-user"
MCP_TOKEN = "schemathesis-mcp-token"
EXAMPLES_PER_OPERATION = 30
START_SECONDS = 30.0

pytestmark = pytest.mark.timeout(300)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(argv: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """`python -m argv` on 127.0.0.1:port, once its /health answers (bounded wait)."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", *argv], env=os.environ | env, stdout=output, stderr=output
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{argv[0]} exited with {process.returncode}: {log.read_text()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1, trust_env=False)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"{argv[0]} did not answer /health in {START_SECONDS} s: {log.read_text()}")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("schemathesis")


@pytest.fixture(scope="module")
def api_url(home: Path, jwks: JwksServer) -> Iterator[str]:
    database = {"DATABASE_URL": f"sqlite:///{home / 'todo.db'}"}
    subprocess.run(
        [sys.executable, "-m", "todo_backend.migrate"],
        env=os.environ | database, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    mcp_port, api_port = _free_port(), _free_port()
    mcp_env = {**database, "MCP_API_TOKEN": MCP_TOKEN, "HOST": "127.0.0.1",
               "PORT": str(mcp_port), "MCP_ALLOWED_HOSTS": f"127.0.0.1:{mcp_port}"}  # fmt: skip
    # One user sends every generated case within a minute: the per-user limits (tested in
    # test_rate_limit) would turn most of them into 429s, so they are out of reach here.
    api_env = {**database, "AUTH_JWKS_URL": jwks.url, "MCP_API_TOKEN": MCP_TOKEN,
               "MCP_SERVER_URL": f"http://127.0.0.1:{mcp_port}/mcp",
               "CHAT_TURNS_PER_MINUTE": "100000", "WRITES_PER_MINUTE": "100000"}  # fmt: skip
    api_argv = ["uvicorn", "todo_backend.main:app", "--host", "127.0.0.1", "--port", str(api_port)]
    processes = [
        _start(["todo_mcp"], mcp_env, mcp_port, home / "mcp.log"),
        _start(api_argv, api_env, api_port, home / "api.log"),
    ]
    yield f"http://127.0.0.1:{api_port}"
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def bearer(jwks: JwksServer, api_url: str, home: Path, signed_in) -> dict[str, str]:
    """A token of a live session (api_url has migrated the database by now)."""
    now = int(time.time())
    claims = {"iss": "todo-frontend", "aud": "todo-backend"}
    sid = signed_in(f"sqlite:///{home / 'todo.db'}", USER)
    token = jwks.sign({"sub": USER, "sid": sid, "iat": now, "exp": now + 3600, **claims})
    return {"Authorization": f"Bearer {token}"}


def _app_openapi() -> dict:
    """The app's own OpenAPI document, known at collection time (one test per operation)."""
    app = create_app(
        Settings(
            database_url="sqlite://",
            auth_jwks_url="http://127.0.0.1:9/jwks",
            mcp_server_url="http://127.0.0.1:9/mcp",
            mcp_api_token="unused",
        )
    )
    return app.openapi()  # fmt: skip


def _cases(document: dict) -> list[tuple[str, GenerationMode]]:
    """Every operation with valid input; those that take input also with invalid input."""
    cases = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            label = f"{method.upper()} {path}"
            cases.append((label, GenerationMode.POSITIVE))
            if operation.get("parameters") or operation.get("requestBody"):
                cases.append((label, GenerationMode.NEGATIVE))
    return cases


OPENAPI = _app_openapi()
# Unknown query parameters are ignored, as most HTTP APIs do: not a schema violation here.
CONFIG = SchemathesisConfig.from_dict({"generation": {"allow-extra-parameters": False}})
SCHEMA = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)


@pytest.mark.parametrize(("label", "mode"), _cases(OPENAPI))
def test_operation_conforms_to_schema(
    label: str, mode: GenerationMode, api_url: str, bearer: dict[str, str]
) -> None:
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None, label

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        # The same examples on every run: CI stays reproducible, a failure replays exactly.
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        if "user_id" in (case.path_parameters or {}):
            case.path_parameters["user_id"] = USER  # reach the handler, not the 403
        case.call_and_validate(base_url=api_url, headers=bearer)

    check()


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/tasks/9223372036854775808"), ("PATCH", "/tasks/0/complete")]
)
def test_an_id_no_row_can_have_is_refused_not_a_server_error(
    method: str, path: str, api_url: str, bearer: dict[str, str]
) -> None:
    """Found by schemathesis: ids past 64 bits raised OverflowError in the driver (500)."""
    url = f"{api_url}/api/{USER}{path}"
    response = httpx.request(method, url, headers=bearer, trust_env=False)
    assert response.status_code == 422, response.text
