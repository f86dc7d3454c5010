"""Minikube on macOS and Windows: the suite runs `minikube tunnel` and says where hosts go.

The platform is faked; the tunnel is a real background process (a stand-in `minikube` that
listens on a loopback port), except on Windows, where spawning is replaced.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from tests.support.fakes import Harness
from todo_deploy.base.background import Background
from todo_deploy.base.platforms import Platform, add_hosts_line, hosts_file
from todo_deploy.base.run import Runner
from todo_deploy.providers.base import IngressAccess
from todo_deploy.providers.minikube import MinikubeProvider
from todo_deploy.steps.report import DeployReport, render

TUNNEL = "minikube tunnel -p todo --bind-address=127.0.0.1"
FAKE_MINIKUBE = """#!/bin/sh
echo "tunnel for $*"
{python} -c '
import os, socket, sys, time
if os.environ.get("FAKE_TUNNEL_FAILS"):
    sys.exit("minikube tunnel: cannot bind 127.0.0.1:80")
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["FAKE_TUNNEL_PORT"])))
s.listen()
time.sleep(600)
'
"""


@pytest.fixture
def tunnel_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def fake_minikube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tunnel_port: int) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "minikube"
    script.write_text(FAKE_MINIKUBE.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_TUNNEL_PORT", str(tunnel_port))
    return script


@pytest.fixture
def mac(
    harness: Harness, tmp_path: Path, tunnel_port: int, fake_minikube: Path
) -> Iterator[MinikubeProvider]:
    harness.fake.on(
        "minikube",
        "status",
        stdout={"Host": "Running", "Kubelet": "Running", "APIServer": "Running"},
    )
    provider = MinikubeProvider(
        harness.config(),
        harness.runner,
        platform=Platform("darwin", "arm64"),
        state_dir=tmp_path / "state",
    )
    provider.tunnel_port = tunnel_port
    assert provider.tunnel
    # The fake executor answers minikube; the tunnel's own process and checks (`ps`) are real,
    # and find the stand-in `minikube` on the PATH that fake_minikube set.
    provider.tunnel.runner = Runner(printer=harness.printed.append)
    yield provider
    assert provider.tunnel
    provider.tunnel.stop()  # never leave a process behind, whatever the test did


def test_macos_up_starts_the_tunnel_in_the_background_once(mac, harness, fake_minikube):
    mac.up()
    assert mac.tunnel
    pid = mac.tunnel.pid()

    assert pid and mac.tunnel.pid_file.read_text() == str(pid)
    assert harness.fake.lines.index("sudo -v") > harness.fake.lines.index(
        "minikube addons enable ingress -p todo"
    )  # the password is asked once the cluster is ready, in the foreground
    assert f"starting in the background: {TUNNEL}" in " ".join(harness.printed)
    assert mac.ingress("todo.local") == IngressAccess(
        f"http://127.0.0.1:{mac.tunnel_port}", "todo.local", "127.0.0.1 todo.local"
    )
    assert mac.status().components["tunnel"] == f"ok (pid {pid})"
    assert not any(line.startswith("minikube ip") for line in harness.fake.lines)

    mac.up()  # a second deploy keeps the running tunnel
    assert mac.tunnel.pid() == pid
    assert harness.fake.lines.count("sudo -v") == 1


def test_macos_with_traefik_the_tunnel_starts_once_traefik_is_rolled_out(
    harness, tmp_path, tunnel_port, fake_minikube
):
    harness.fake.on(
        "minikube",
        "status",
        stdout={"Host": "Running", "Kubelet": "Running", "APIServer": "Running"},
    )
    mac = MinikubeProvider(
        harness.config(**{"minikube.ingress": "traefik"}),
        harness.runner,
        platform=Platform("darwin", "arm64"),
        state_dir=tmp_path / "state",
    )
    mac.tunnel_port = tunnel_port
    assert mac.tunnel
    mac.tunnel.runner = Runner(printer=harness.printed.append)
    try:
        mac.up()
        assert mac.tunnel.pid()
    finally:
        mac.tunnel.stop()
    rollout = "kubectl --context todo -n traefik rollout status deployment/traefik --timeout=300s"
    assert harness.fake.lines.index("sudo -v") > harness.fake.lines.index(rollout)
    assert "minikube addons enable ingress -p todo" not in harness.fake.lines


def _stand_in_env(mac: MinikubeProvider, **variables: str) -> None:
    """Tell the stand-in `minikube` what to do: through the environment the tunnel gets."""
    assert mac.tunnel
    runner = mac.tunnel.runner
    runner.base_env = {**runner.base_env, **variables}


def test_a_tunnel_that_no_longer_serves_is_replaced(mac, fake_minikube):
    mac.up()
    assert mac.tunnel
    first = mac.tunnel.pid()
    with socket.socket() as sock:  # the ingress moved: the old tunnel serves nothing there
        sock.bind(("127.0.0.1", 0))
        mac.tunnel_port = sock.getsockname()[1]
    _stand_in_env(mac, FAKE_TUNNEL_PORT=str(mac.tunnel_port))

    mac.up()

    assert mac.tunnel.pid() not in (None, first)
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)


def test_macos_down_stops_the_tunnel_then_minikube(mac, harness, fake_minikube):
    mac.up()
    assert mac.tunnel
    pid = mac.tunnel.pid()
    assert pid

    mac.down()

    assert mac.tunnel.pid() is None and not mac.tunnel.pid_file.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "stopped minikube tunnel -p todo" in harness.printed
    assert harness.fake.lines[-1] == "minikube stop -p todo"
    assert "tunnel for tunnel -p todo --bind-address=127.0.0.1" in mac.tunnel.log_tail()


def test_a_tunnel_that_exits_is_reported_with_its_log(mac, fake_minikube):
    _stand_in_env(mac, FAKE_TUNNEL_FAILS="1")
    with pytest.raises(RuntimeError) as failed:
        mac.up()
    message = str(failed.value)
    assert message.startswith("minikube tunnel exited (log ")
    assert "cannot bind 127.0.0.1:80" in message
    assert "run `minikube tunnel -p todo` in another terminal" in message


def test_macos_dry_run_describes_the_tunnel_and_starts_nothing(harness, tmp_path):
    harness.runner.dry_run = True
    mac = MinikubeProvider(
        harness.config(),
        harness.runner,
        platform=Platform("darwin", "amd64"),
        state_dir=tmp_path / "state",
    )
    mac.up()
    assert f"[dry-run] start in the background: {TUNNEL}" in " ".join(harness.printed)
    assert "sudo -v" not in harness.fake.lines
    assert harness.fake.spawned == []
    assert not (tmp_path / "state").exists()


def test_windows_tunnel_is_detached_and_stopped_with_taskkill(harness, tmp_path, tunnel_port):
    # The tunnel goes through the harness's Runner: the fake records it, its pid is 4242.
    harness.fake.on("tasklist", "/FI", "PID eq 4242", stdout='"minikube.exe","4242","Console"')
    win = MinikubeProvider(
        harness.config(),
        harness.runner,
        platform=Platform("windows", "amd64"),
        state_dir=tmp_path / "state",
    )
    assert win.tunnel
    with socket.socket() as ingress:  # what the tunnel would publish
        ingress.bind(("127.0.0.1", tunnel_port))
        ingress.listen()
        win.tunnel_port = tunnel_port
        harness.fake.on(
            "minikube",
            "status",
            stdout={"Host": "Running", "Kubelet": "Running", "APIServer": "Running"},
        )
        win.up()

    (tunnel,) = harness.fake.spawned
    assert tunnel.line == TUNNEL and tunnel.spawned
    assert tunnel.spawned.detach and tunnel.spawned.output == win.tunnel.log_file
    assert win.tunnel.pid_file.read_text() == "4242"
    assert "sudo -v" not in harness.fake.lines  # minikube needs no sudo on Windows
    win.down()
    assert "taskkill /PID 4242 /T /F" in harness.fake.lines
    assert not win.tunnel.pid_file.exists()


def test_linux_needs_no_tunnel_the_node_ip_is_routable(harness):
    linux = MinikubeProvider(harness.config(), harness.runner, platform=Platform("linux", "arm64"))
    assert linux.tunnel is None
    assert linux.ingress("todo.local") == IngressAccess(
        "http://192.168.49.2", "todo.local", "192.168.49.2 todo.local"
    )


def _hint(os_name: str, tmp_path: Path, wsl: bool = False) -> str:
    out = io.StringIO()
    report = DeployReport(budget_seconds=300, hosts_line="127.0.0.1 todo.local")
    hosts = tmp_path / "hosts" if os_name != "windows" else None  # Windows: its real path
    if wsl:
        return add_hosts_line(report.hosts_line, Path("/etc/hosts"), "linux", wsl=True)
    render(report, Console(file=out, width=400), hosts_file=hosts, os_name=os_name)
    return out.getvalue()


def test_the_hosts_line_is_given_for_each_os(tmp_path):
    windows = _hint("windows", tmp_path)
    assert r"not in C:\Windows\System32\drivers\etc\hosts" in windows
    assert (
        r"Administrator PowerShell: `Add-Content -Path C:\Windows\System32\drivers\etc\hosts "
        "-Value '127.0.0.1 todo.local'`"
    ) in windows
    mac = _hint("darwin", tmp_path)
    assert f"`sudo sh -c \"echo '127.0.0.1 todo.local' >> {tmp_path / 'hosts'}\"`" in mac
    wsl = _hint("linux", tmp_path, wsl=True)
    assert wsl.startswith("as root: `echo '127.0.0.1 todo.local' >> /etc/hosts`; for a Windows")
    assert str(hosts_file("windows")) in wsl


def test_a_stale_pid_file_naming_another_program_is_never_signalled(tmp_path):
    stranger = subprocess.Popen(["sleep", "30"])  # e.g. the pid reused after a reboot
    try:
        tunnel = Background(
            "minikube-tunnel-todo", ["minikube", "tunnel"], Runner(), state_dir=tmp_path
        )
        tmp_path.joinpath("minikube-tunnel-todo.pid").write_text(str(stranger.pid))

        assert tunnel.pid() is None
        assert tunnel.stop() is False
        assert stranger.poll() is None  # still running, untouched
        assert not tunnel.pid_file.exists()
    finally:
        stranger.kill()
        stranger.wait()
