"""Background processes with a pid file and a log file each, started and stopped by pid.

start-stop-daemon (dpkg, so present on every Debian) detaches, writes the pid file and
redirects output without a shell, and `--stop --retry TERM/15/KILL/5` gives each process time
to exit cleanly before it is killed.
"""

from __future__ import annotations

import functools
import os
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from todo_deploy.base.run import Runner

LOG_TAIL_LINES = 25
EXEC_GRACE = 3.0


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

    def pid(self, daemon: Daemon) -> int | None:
        """The live pid from the pid file, or None (no file, process gone, or the pid reused
        by another program)."""
        try:
            pid = int(self.pidfile(daemon.name).read_text().strip())
            executable = os.readlink(f"/proc/{pid}/exe")
        except (OSError, ValueError):
            return None
        # The kernel names the resolved file: a symlink anywhere on the cache path (a cache on
        # another disk, a HOME linked to a shared one) must not hide our own process.
        # A rebuilt binary shows as "<path> (deleted)" while the old process runs.
        ours = os.path.realpath(daemon.argv[0])
        return pid if executable.removesuffix(" (deleted)") == ours else None

    def start(self, daemon: Daemon) -> bool:
        """Start `daemon` unless it runs already as asked; True when it was started now.

        One running with other flags (an earlier version of the suite started it) is
        restarted: otherwise a new flag, e.g. a provider Traefik now serves, never takes effect.
        """
        pid = self.pid(daemon)
        if pid and _arguments(pid) in (None, list(daemon.argv[1:])):
            return False
        if pid:
            self.runner.printer(f"  restarting {daemon.name}: it runs with other flags")
            self.stop(daemon)
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

    def _stop_argv(self, daemon: Daemon) -> list[str]:
        # --exec: signal only our program, never whatever reused a stale pid.
        pidfile = str(self.pidfile(daemon.name))
        return ["start-stop-daemon", "--stop", "--oknodo", "--pidfile", pidfile,
                "--exec", daemon.argv[0]]  # fmt: skip

    def terminate(self, daemon: Daemon) -> None:
        """Send TERM and return at once, so several daemons shut down side by side."""
        if self.pid(daemon):
            self.runner.run(self._stop_argv(daemon), step=f"terminate {daemon.name}")

    def stop(self, daemon: Daemon) -> None:
        """TERM, wait up to 15 s, then KILL; removes the pid file."""
        if not self.pidfile(daemon.name).exists():
            return
        argv = [*self._stop_argv(daemon), "--remove-pidfile", "--retry", "TERM/15/KILL/5"]
        self.runner.run(argv, step=f"stop {daemon.name}")

    def healthy(self, daemon: Daemon) -> str:
        """ "ok", or what is wrong."""
        if not self.pid(daemon):
            return "not running"
        if daemon.socket and not socket_ok(daemon.socket):
            return f"running, but {daemon.socket} does not accept connections"
        if daemon.health_url and not http_ok(daemon.health_url):
            return f"running, but {daemon.health_url} does not answer 200"
        return "ok"

    def wait_healthy(self, daemon: Daemon, timeout: float) -> None:
        started = time.monotonic()
        state = self.healthy(daemon)
        while state != "ok":
            waited = time.monotonic() - started
            # Right after the fork the pid is start-stop-daemon's until it execs: allow a moment.
            gone = state == "not running" and waited > EXEC_GRACE
            if gone or waited > timeout:
                raise DaemonError(self.failure(daemon.name, state, waited, timeout))
            time.sleep(0.5)
            state = self.healthy(daemon)

    def failure(self, name: str, state: str, waited: float, timeout: float) -> str:
        if state == "not running":
            state = f"exited {waited:.1f} s after its start (it had up to {timeout:.0f} s)"
        else:
            state = f"{state} after {waited:.0f} s"
        return f"{name}: {state}\n  log: {self.log(name)}\n  last lines:\n{self.log_tail(name)}"

    def log_tail(self, name: str) -> str:
        try:
            lines = self.log(name).read_text(errors="replace").splitlines()
        except OSError:
            return "    (no log written)"
        return "\n".join(f"    {line}" for line in lines[-LOG_TAIL_LINES:])


def _arguments(pid: int) -> list[str] | None:
    """The process's arguments after its program (None when they cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0")[1:-1]]


def socket_ok(path: Path) -> bool:
    # A socket file left by a killed process exists but refuses connections.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(2)
        try:
            client.connect(str(path))
        except OSError:
            return False
    return True


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    """One for every check: an SSL context costs 40 ms to make (it loads the system's CAs)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # No proxy: an HTTP(S)_PROXY from the environment must never see cluster-local traffic.
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )


def http_ok(url: str, timeout: float = 2) -> bool:
    """GET `url`; TLS is not verified: these are loopback health endpoints, not data."""
    try:
        with _opener().open(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False
