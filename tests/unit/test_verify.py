"""verify: workloads, then /health via the ingress or, failing that, a real port-forward process.

The port-forward runs a real process: a stand-in `kubectl` script that serves /health on the
local port it is asked to forward, so the Popen, port wait and cleanup paths are exercised.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from conftest import Harness

from todo_deploy.catalogue import default
from todo_deploy.kube import Kube
from todo_deploy.portforward import free_loopback_port
from todo_deploy.providers.base import IngressAccess
from todo_deploy.verify import VerifyError, http_get, verify

STAND_IN = textwrap.dedent("""\
    #!{python}
    import http.server, sys
    local = int(sys.argv[-1].split(":")[0])  # kubectl port-forward ... LOCAL:REMOTE

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    http.server.HTTPServer(("127.0.0.1", local), Health).serve_forever()
""")


@pytest.fixture
def stand_in_kubectl(tmp_path: Path) -> str:
    path = tmp_path / "kubectl"
    path.write_text(STAND_IN.format(python=sys.executable))
    path.chmod(0o755)
    return str(path)


BACKEND = default()["backend"]


def _closed_ingress() -> IngressAccess:
    # A loopback port nobody listens on: the ingress path fails fast.
    return IngressAccess(f"http://127.0.0.1:{free_loopback_port()}", "todo.local", "")


def test_falls_back_to_a_port_forward_when_the_ingress_does_not_answer(
    harness: Harness, stand_in_kubectl: str
) -> None:
    kube = Kube(harness.runner, stand_in_kubectl, "todo", "todo-app")
    verified = verify(kube, _closed_ingress(), BACKEND, health_timeout=2, sleep=lambda s: None)
    assert verified.via == "port-forward"
    assert verified.health_url.startswith("http://127.0.0.1:")
    assert verified.workloads == {"deployment/todo-backend": "2/2", "deployment/todo-mcp": "1/1",
                                  "statefulset/todo-postgres": "1/1"}  # fmt: skip
    # the forwarding process was stopped afterwards
    assert http_get(verified.health_url, "127.0.0.1") == 0


def test_no_workloads_is_an_error(harness: Harness) -> None:
    harness.fake.on("get", "deployments,statefulsets", stdout={"items": []})
    kube = Kube(harness.runner, "kubectl", "todo", "todo-app")
    with pytest.raises(VerifyError, match="no Deployment or StatefulSet found in namespace"):
        verify(kube, _closed_ingress(), BACKEND, get=lambda url, host: 200)
