"""Background processes with a pid file and a log file each, started and stopped by pid.

start-stop-daemon (dpkg, so present on every Debian) detaches, writes the pid file and
redirects output without a shell, and `--stop --retry TERM/15/KILL/5` gives each process time
to exit cleanly before it is killed.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from todo_deploy.run import Runner

LOG_TAIL_LINES = 25


class DaemonError(RuntimeError):
    pass


@dataclass(frozen=True)
class Daemon:
    name: str
    argv: tuple[str, ...]
    health_url: str | None = None  # plain GET that answers 200 when the component is healthy
    socket: Path | None = None  # a unix socket that accepts connections once it serves
    env: dict[str, str] = field(default_factory=dict)


class Supervisor:
    def __init__(self, runner: Runner, run_dir: Path, log_dir: Path):
        self.runner = runner
        self.run_dir = run_dir
        self.log_dir = log_dir

    def pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def pid(self, name: str) -> int | None:
        """The live pid from the pid file, or None (no file, or that process is gone)."""
        try:
            pid = int(self.pidfile(name).read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def start(self, daemon: Daemon) -> bool:
        """Start `daemon` unless it runs already; True when it was started now."""
        if self.pid(daemon.name):
            return False
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            "start-stop-daemon", "--start", "--background",
            "--make-pidfile", "--pidfile", str(self.pidfile(daemon.name)),
            "--output", str(self.log(daemon.name)),
            "--exec", daemon.argv[0], "--", *daemon.argv[1:],
        ]  # fmt: skip
        self.runner.run(argv, step=f"start {daemon.name}", env=daemon.env)
        return True

    def terminate(self, name: str) -> None:
        """Send TERM and return at once, so several daemons shut down side by side."""
        if self.pid(name):
            self.runner.run(
                ["start-stop-daemon", "--stop", "--oknodo", "--pidfile", str(self.pidfile(name))],
                step=f"terminate {name}",
            )

    def stop(self, name: str) -> None:
        if not self.pidfile(name).exists():
            return
        self.runner.run(
            [
                "start-stop-daemon", "--stop", "--oknodo", "--remove-pidfile",
                "--pidfile", str(self.pidfile(name)), "--retry", "TERM/15/KILL/5",
            ],
            step=f"stop {name}",
        )  # fmt: skip
        self.pidfile(name).unlink(missing_ok=True)

    def healthy(self, daemon: Daemon) -> str:
        """ "ok", or what is wrong."""
        if not self.pid(daemon.name):
            return "not running"
        if daemon.socket and not socket_ok(daemon.socket):
            return f"running, but {daemon.socket} does not accept connections"
        if daemon.health_url and not http_ok(daemon.health_url):
            return f"running, but {daemon.health_url} does not answer 200"
        return "ok"

    def wait_healthy(self, daemon: Daemon, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        state = self.healthy(daemon)
        while state != "ok":
            if state == "not running" or time.monotonic() > deadline:
                raise DaemonError(self.failure(daemon.name, state, timeout))
            time.sleep(0.5)
            state = self.healthy(daemon)

    def failure(self, name: str, state: str, timeout: float) -> str:
        return (
            f"{name}: {state} (waited up to {timeout:.0f} s)\n"
            f"  log: {self.log(name)}\n  last lines:\n{self.log_tail(name)}"
        )

    def log_tail(self, name: str) -> str:
        try:
            lines = self.log(name).read_text(errors="replace").splitlines()
        except OSError:
            return "    (no log written)"
        return "\n".join(f"    {line}" for line in lines[-LOG_TAIL_LINES:])


def socket_ok(path: Path) -> bool:
    # A socket file left by a killed process exists but refuses connections.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(2)
        try:
            client.connect(str(path))
        except OSError:
            return False
    return True


def http_ok(url: str, timeout: float = 2) -> bool:
    """GET `url`; TLS is not verified: these are loopback health endpoints, not data."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # No proxy: an HTTP(S)_PROXY from the environment must never see cluster-local traffic.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False
