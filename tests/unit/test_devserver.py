"""`invoke dev` settings: loopback URLs, a SQLite file under .dev/, secrets stable across runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.fakes import FakeExec
from todo_deploy.base.kube import wait_until
from todo_deploy.base.run import Runner
from todo_deploy.day2.devserver import (
    UV_RUN,
    DevError,
    DevService,
    _relay,
    dev_env,
    dev_secrets,
    dev_services,
    refuse_taken_ports,
    supervise,
)


def test_dev_secrets_are_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = dev_secrets(tmp_path / ".dev")
    second = dev_secrets(tmp_path / ".dev")
    assert first == second  # better-auth's JWKS keys stay readable across restarts
    assert len(first["BETTER_AUTH_SECRET"]) >= 32
    assert (tmp_path / ".dev" / "secrets.env").stat().st_mode & 0o077 == 0


def test_dev_env_points_every_service_at_loopback_and_sqlite(tmp_path: Path) -> None:
    env = dev_env(tmp_path, {"BETTER_AUTH_SECRET": "x" * 32, "MCP_API_TOKEN": "t" * 32})
    assert env["DATABASE_URL"] == f"sqlite:///{(tmp_path / '.dev' / 'todo.db').resolve()}"
    for key in ("AUTH_JWKS_URL", "MCP_SERVER_URL", "BETTER_AUTH_URL", "BACKEND_URL"):
        assert urlsplit(env[key]).hostname == "127.0.0.1", key
    ports = {s.name: urlsplit(s.url).port for s in dev_services(tmp_path)}
    assert ports == {"backend": 8000, "mcp": 8001, "frontend": 3000}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _health(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("name", ["backend", "mcp"])
def test_back_end_and_mcp_restart_when_their_code_is_saved(tmp_path: Path, name: str) -> None:
    """The real commands `invoke dev` runs, watching a copy of the folders they watch."""
    for folder in ("backend/todo_backend", "mcp/todo_mcp"):
        (tmp_path / folder).mkdir(parents=True)
    service = next(s for s in dev_services(tmp_path) if s.name == name)
    port = _free_port()
    argv = [
        str(port) if arg == str(urlsplit(service.url).port) else arg
        for arg in service.argv[len(UV_RUN) :]
    ]
    secrets = {"BETTER_AUTH_SECRET": "x" * 32, "MCP_API_TOKEN": "t" * 32}
    env = {
        **os.environ,
        **dev_env(tmp_path, secrets),
        **service.env,
        "PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    proc = subprocess.Popen(
        argv,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(proc.stdout or ()), daemon=True).start()
    try:
        assert wait_until(lambda: _health(port), timeout=60, interval=0.3), "".join(output)
        seen = len(output)
        (
            tmp_path
            / ("backend/todo_backend" if name == "backend" else "mcp/todo_mcp")
            / "saved.py"
        ).write_text("CHANGED = True\n")
        restarted = ("Reloading", "change detected")  # uvicorn, watchfiles
        assert wait_until(
            lambda: any(r in line for line in output[seen:] for r in restarted),
            timeout=20,
            interval=0.2,
        ), "".join(output)
        # A new process serves the saved code (the old one answers until it is stopped).
        assert wait_until(
            lambda: sum("Started server process" in line for line in output) == 2,
            timeout=60,
            interval=0.2,
        ), "".join(output)
        assert wait_until(lambda: _health(port), timeout=60, interval=0.3), "".join(output)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_service_output_is_relayed_masked_and_prefixed() -> None:
    runner = Runner()
    runner.add_secrets(["dev-secret-123456"])
    shown: list[tuple[str, str, str]] = []
    process = runner.spawn([sys.executable, "-c", "print('token dev-secret-123456')"])
    _relay(process, "mcp", lambda *line: shown.append(line))
    process.wait(timeout=10)
    assert wait_until(lambda: bool(shown), timeout=5, interval=0.05)
    assert shown == [("mcp", "mcp", "token ******")]


def test_each_service_starts_through_the_runner_and_one_exiting_stops_the_others(
    tmp_path: Path,
) -> None:
    fake = FakeExec()
    fake.on("next", rc=3, stdout="token dev-secret-123456\n")  # prints, then exits at once
    runner = Runner(execute=fake, spawner=fake.spawn, base_env={"PATH": "/usr/bin"})
    runner.add_secrets(["dev-secret-123456"])
    services = [
        DevService("backend", ["uvicorn"], tmp_path, "http://127.0.0.1:1/", {"PORT": "1"}),
        DevService("frontend", ["next"], tmp_path / "frontend", "http://127.0.0.1:2/"),
    ]
    shown: list[tuple[str, str, str]] = []
    with pytest.raises(RuntimeError, match="frontend exited; stopped the others"):
        supervise(services, {"DEV": "yes"}, runner, print, 0.01, lambda *row: shown.append(row))
    backend, frontend = fake.spawned
    assert (backend.argv, backend.cwd, frontend.cwd) == (
        ("uvicorn",),
        tmp_path,
        tmp_path / "frontend",
    )
    assert backend.spawned and backend.spawned.detach  # its own group: Ctrl-C reaches only us
    assert {k: backend.env[k] for k in ("PATH", "DEV", "PORT")} == {
        "PATH": "/usr/bin", "DEV": "yes", "PORT": "1",
    }  # fmt: skip
    assert fake.processes[0].stopped.is_set()  # the back end, stopped with the front end
    assert wait_until(lambda: bool(shown), timeout=5, interval=0.05)
    assert shown == [("frontend", "frontend", "token ******")]


def _listener(port: int) -> subprocess.Popen:
    code = (
        "import socket, time\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('127.0.0.1', {port})); s.listen(); print('ready', flush=True); time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_a_taken_port_is_named_with_the_process_holding_it(tmp_path: Path) -> None:
    port = _free_port()
    holder = _listener(port)
    try:
        services = [DevService("backend", ["true"], tmp_path, f"http://127.0.0.1:{port}/health")]
        with pytest.raises(DevError) as refused:
            refuse_taken_ports(services, Runner())
        message = str(refused.value)
        assert f"port {port} (backend) is in use by pid {holder.pid} (" in message
        assert f"`kill {holder.pid}`" in message and "nothing was started" in message
        assert "-c import socket" in message  # the holder's own command line
    finally:
        holder.kill()
        holder.wait()
    refuse_taken_ports(services, Runner())  # free again: no complaint


SUPERVISE = """
import sys
from pathlib import Path
from todo_deploy.day2.devserver import DevService, supervise
from todo_deploy.base.run import Runner
ports = sys.argv[1:]
services = [
    DevService(f"web{i}", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", port],
               Path("."), f"http://127.0.0.1:{port}/")
    for i, port in enumerate(ports)
]
supervise(services, {}, Runner(), lambda line: print(line, flush=True), poll=0.2)
print("supervise returned", flush=True)
"""


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_stops_every_service_as_ctrl_c_does(tmp_path: Path, stop) -> None:
    """A closed terminal (SIGHUP) or a process manager (SIGTERM) leaves no server behind."""
    ports = [_free_port(), _free_port()]
    parent = subprocess.Popen(
        [sys.executable, "-c", SUPERVISE, *map(str, ports)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(parent.stdout or ()), daemon=True).start()
    try:
        assert wait_until(lambda: all(_answers(p) for p in ports), timeout=30), output
        parent.send_signal(stop)
        parent.wait(timeout=30)
        assert wait_until(lambda: not any(_answers(p) for p in ports), timeout=10), output
        assert any(f"stopping ({stop.name})" in line for line in output), output
        assert any("supervise returned" in line for line in output), output
    finally:
        parent.kill()
