"""Make sure a Docker engine answers before anything is built or run.

Where none answers and we are root on a Debian-like Linux (possibly without systemd), we
install Debian's docker.io if needed and start dockerd in the background ourselves; elsewhere we
say what to start, because starting a user's engine behind their back is not ours to do.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.client import DockerClient, from_env
from docker.errors import DockerException

from todo_deploy.base import paths
from todo_deploy.base.run import Result, Runner

LOCAL_SOCKET = "/var/run/docker.sock"
DEBIAN_CLI = "/usr/bin/docker"
DEBIAN_PACKAGE = "docker.io"
LOG_TAIL_LINES = 20


class EngineError(RuntimeError):
    """No Docker engine answers and we could not (or may not) start one."""


def engine_answers(base_url: str | None = None, timeout: float = 3) -> bool:
    """True when the engine at `base_url` (default: the environment's DOCKER_HOST) pings back."""
    try:
        client = (
            DockerClient(base_url=base_url, timeout=timeout)
            if base_url
            else from_env(timeout=timeout)
        )
    except DockerException:
        return False
    try:
        return bool(client.ping())
    except (DockerException, OSError):
        return False
    finally:
        client.close()


def is_debian_like() -> bool:
    if Path("/etc/debian_version").exists():
        return True
    try:
        release = Path("/etc/os-release").read_text()
    except OSError:
        return False
    return any(
        line.startswith(("ID=", "ID_LIKE=")) and "debian" in line for line in release.splitlines()
    )


def _log_tail(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log written)"
    return "\n".join(f"    {line}" for line in lines[-LOG_TAIL_LINES:])


def apt_install(runner: Runner, package: str) -> None:
    """Install one Debian package (root on Debian-like systems only; callers check)."""
    runner.run(["apt-get", "update"], step=f"apt-get update (for {package})")
    runner.run(
        ["apt-get", "install", "-y", "--no-install-recommends", package],
        step=f"install {package}",
        env={"DEBIAN_FRONTEND": "noninteractive"},
    )


def _start_dockerd(runner: Runner, dockerd: str, state_dir: Path) -> tuple[Path, Path]:
    state_dir.mkdir(parents=True, exist_ok=True)
    log, pidfile = state_dir / "dockerd.log", state_dir / "dockerd.pid"
    # start-stop-daemon (part of dpkg, so always on Debian) detaches, redirects the log and
    # writes the pid file without a shell; --oknodo keeps a second call harmless.
    runner.run(
        [
            "start-stop-daemon", "--start", "--oknodo", "--background",
            "--make-pidfile", "--pidfile", pidfile, "--output", log,
            "--exec", dockerd, "--", "--host", f"unix://{LOCAL_SOCKET}",
        ],
        step="start dockerd",
    )  # fmt: skip
    return log, pidfile


def _wait_for_socket(log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine_answers(f"unix://{LOCAL_SOCKET}"):
            return
        time.sleep(0.5)
    raise EngineError(
        f"dockerd did not answer on {LOCAL_SOCKET} within {timeout:.0f} s.\n"
        f"  log: {log}\n  last lines:\n{_log_tail(log)}"
    )


def ensure_engine(runner: Runner, *, state_dir: Path | None = None, timeout: float = 60) -> str:
    """Return a one-line message once a Docker engine answers, starting one if we may."""
    docker_host = os.environ.get("DOCKER_HOST")
    if engine_answers():
        return f"Docker engine answers at {docker_host or LOCAL_SOCKET}."
    if docker_host and docker_host != f"unix://{LOCAL_SOCKET}":
        raise EngineError(
            f"DOCKER_HOST={docker_host} does not answer. Start that engine, or unset DOCKER_HOST "
            "to use the local one."
        )
    if os.geteuid() != 0 or not is_debian_like():
        raise EngineError(
            f"No Docker engine answers at {LOCAL_SOCKET}. Start Docker (Docker Desktop, "
            "`sudo systemctl start docker`, or `sudo dockerd &`) and retry; we only start one "
            "ourselves as root on Debian-like Linux."
        )
    dockerd = shutil.which("dockerd")
    installed = dockerd is None
    if dockerd is None:
        apt_install(runner, DEBIAN_PACKAGE)
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    log, pidfile = _start_dockerd(runner, dockerd, state_dir or paths.state_dir("dockerd"))
    if runner.dry_run:
        return f"Would start dockerd in the background (log {log})."
    _wait_for_socket(log, timeout)
    what = f"installed {DEBIAN_PACKAGE} and started" if installed else "started"
    return f"No Docker engine was running: {what} dockerd (pid file {pidfile}, log {log})."


def buildkit_cli(runner: Runner) -> str:
    """A docker CLI that can build with BuildKit (secrets, cache mounts).

    A CLI with the buildx plugin does; without it, Docker 23+ CLIs refuse BuildKit, while
    Debian's docker.io 20.10 CLI (/usr/bin/docker) has it built in.
    """
    if runner.run(["docker", "buildx", "version"], check=False, mutating=False).ok:
        return "docker"
    return DEBIAN_CLI if Path(DEBIAN_CLI).exists() else "docker"


@dataclass
class DockerCli:
    """The docker CLI aimed at one engine: `env` is that engine's docker-env (may be empty)."""

    runner: Runner
    cli: str = "docker"
    env: Mapping[str, str] = field(default_factory=dict)

    def run(self, *args: str | Path, step: str = "", **kwargs: Any) -> Result:
        return self.runner.run([self.cli, *map(str, args)], env=self.env, step=step, **kwargs)

    def inspect(self, ref: str, template: str) -> str | None:
        """`docker image inspect --format template ref`, or None when there is no such image."""
        result = self.run(
            "image",
            "inspect",
            "--format",
            template,
            ref,
            step=f"inspect {ref}",
            check=False,
            mutating=False,
        )
        if not result.ok:
            return None
        return result.stdout.strip() or None

    def image_id(self, ref: str) -> str | None:
        return self.inspect(ref, "{{.Id}}")
