"""The deployed app in OpenAI mode against the back end's local OpenAI-compatible stub.

The stub (backend/tests/agent/openai_stub.py, loaded by path: the back end's tests are not a
package) listens on the address pods reach this host on, so no request leaves the machine.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import requests

from tests.support.stack import ROOT, Stack

STUB_FILE = ROOT / "backend" / "tests" / "agent" / "openai_stub.py"


def stub_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("openai_stub", STUB_FILE)
    assert spec and spec.loader, STUB_FILE
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def address_pods_reach(stack: Stack) -> str | None:
    """This host's address on the cluster's pod network, where the provider has one of its own."""
    if stack.provider.name == "host":
        from todo_deploy.providers.host.layout import NODE_IP

        return NODE_IP
    return None


# A user's values file may rename an image's repository: the deploy builds and runs that name.
RENAMED_BACKEND = "e2e/todo-backend"


def openai_values(tmp: Path, base_url: str) -> Path:
    """A values file (`invoke deploy --values`) pointing the agent at the stub, and renaming
    the back end's repository as a user's own values file might."""
    values = tmp / "openai-values.yaml"
    values.write_text(
        json.dumps(
            {
                "config": {"openaiBaseUrl": base_url, "openaiModel": "stub-model"},
                "images": {"backend": {"repository": RENAMED_BACKEND}},
            }
        )
    )
    return values


@dataclass(frozen=True)
class Arrival:
    seconds: float  # since the request was sent
    event: dict


def stream_chat(response: requests.Response) -> list[Arrival]:
    """The server-sent events of a chat stream, each stamped with when it reached this client."""
    response.encoding = "utf-8"  # text/event-stream is UTF-8; requests would yield bytes
    started, buffer, arrivals = time.monotonic(), "", []
    for chunk in response.iter_content(chunk_size=None, decode_unicode=True):
        buffer += chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            data = block.removeprefix("data: ")
            arrivals.append(Arrival(time.monotonic() - started, json.loads(data)))
    return arrivals
