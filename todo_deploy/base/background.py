"""A helper process that outlives the task which starts it (e.g. `minikube tunnel`).

Its pid and log files live in the user's state folder, so a later task (`teardown --cluster`)
finds and stops it, and a second `deploy` reuses it instead of starting another.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from todo_deploy.base import paths
from todo_deploy.base.platforms import Platform
from todo_deploy.base.run import Runner

STOP_SECONDS = 10


def _alive_posix(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else (e.g. root through sudo)
    try:  # our own exited child stays a zombie until reaped: that is not alive
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True  # not our child: kill(0) succeeded, so it runs


@dataclass
class Background:
    name: str  # names the pid and log files, e.g. "minikube-tunnel-todo"
    argv: list[str]
    runner: Runner
    platform: Platform = field(default_factory=Platform.current)
    state_dir: Path = field(default_factory=paths.state_dir)

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid when our process still runs, else None.

        A pid file can outlive its process (a reboot) and the pid be reused: only a process
        running our program counts, so `stop()` never signals a stranger.
        """
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if self._alive(pid) and self._runs_our_program(pid) else None

    def start(self) -> int | None:
        """Start it unless it runs; returns its pid (None in a dry run)."""
        running = self.pid()
        if running:
            return running
        shown = self.runner.describe(self.argv)
        if self.runner.dry_run:
            self.runner.printer(f"[dry-run] start in the background: {shown} (log {self.log_file})")
            return None
        self.runner.printer(f"starting in the background: {shown} (log {self.log_file})")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # Detached: Ctrl-C in the terminal spares it; it outlives this task.
        process = self.runner.spawn(
            self.argv, step=f"start {self.name}", output=self.log_file, detach=True
        )
        if process.pid is not None:  # None only when nothing was started
            self.pid_file.write_text(str(process.pid))
        return process.pid

    def stop(self) -> bool:
        """Stop it and its children; True when something was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        if self.runner.dry_run:
            self.runner.printer(f"[dry-run] stop {self.name} (pid {pid})")
            return True
        if self.platform.os == "windows":
            self.runner.run(["taskkill", "/PID", str(pid), "/T", "/F"], step=f"stop {self.name}")
        else:
            self._stop_group(pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _stop_group(self, pid: int) -> None:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while self._alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._alive(pid):
            os.killpg(pid, signal.SIGKILL)

    def _alive(self, pid: int) -> bool:
        if self.platform.os != "windows":
            return _alive_posix(pid)
        return f'"{pid}"' in self._listing(pid)

    def _runs_our_program(self, pid: int) -> bool:
        program = Path(self.argv[0]).name.lower().removesuffix(".exe")
        return program in self._listing(pid).lower()

    def _listing(self, pid: int) -> str:
        """The process's line in the OS's process list (its command, on Windows its image)."""
        if self.platform.os == "windows":
            argv = ["tasklist", "/FI", f"PID eq {pid}", "/NH", "/FO", "CSV"]
        else:
            argv = ["ps", "-p", str(pid), "-o", "command="]
        listing = self.runner.run(argv, step=f"is {self.name} running", check=False, mutating=False)
        return listing.stdout

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])
