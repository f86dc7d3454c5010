"""Image cold starts measured on the host engine: `docker run` to the first 200 (tests only).

Ports and health paths come from the chart's component table; containers publish on this
machine's loopback only.
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import Mapping

import requests

from todo_deploy.base import catalogue
from todo_deploy.base.engine import DockerCli
from todo_deploy.base.run import Runner
from todo_deploy.day2.portforward import free_loopback_port
from todo_deploy.steps.images import BuiltImage, docker_cli

HEALTH_TIMEOUT = 60.0


def loopback_session() -> requests.Session:
    """HTTP to our own containers: never through a proxy from the environment."""
    session = requests.Session()
    session.trust_env = False
    return session


def wait_for_ok(url: str, deadline: float) -> float:
    """Poll `url` until it answers 200; return the monotonic time it did."""
    http = loopback_session()
    while time.monotonic() < deadline:
        try:
            if http.get(url, timeout=1).status_code == 200:
                return time.monotonic()
        except requests.RequestException:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{url} did not answer 200 in time")


def cold_start(
    ref: str,
    health_path: str,
    port: int,
    env: Mapping[str, str],
    n: int = 5,
    *,
    docker: DockerCli,
) -> float:
    """Median seconds from `docker run` to the first 200 on the health URL (loopback only).

    Containers run as they do in the cluster: read-only root, /tmp writable.
    """
    samples = []
    for attempt in range(n):
        host_port = free_loopback_port()
        env_args = [f"--env={key}={value}" for key, value in env.items()]
        started = time.monotonic()
        container = docker.run(
            "run", "--detach", "--rm", "--read-only", "--tmpfs=/tmp",
            f"--publish=127.0.0.1:{host_port}:{port}", *env_args, ref,
            step=f"cold start {ref} ({attempt + 1}/{n})",
        ).stdout.strip()  # fmt: skip
        try:
            ready = wait_for_ok(
                f"http://127.0.0.1:{host_port}{health_path}", started + HEALTH_TIMEOUT
            )
        finally:
            docker.run("rm", "--force", container, step="remove container", check=False)
        samples.append(ready - started)
    return statistics.median(samples)


def cold_start_env(name: str) -> dict[str, str]:
    """Just enough settings for `name` to start and answer its health path on its own.

    URLs point at the discard port on the container's own loopback: configured, never called.
    """
    token = secrets.token_hex(16)
    sqlite = "sqlite:////tmp/cold-start.db"
    return {
        "frontend": {
            "DATABASE_URL": "postgresql://todo:unused@127.0.0.1:9/todo",
            "BETTER_AUTH_SECRET": secrets.token_hex(32),
            "BETTER_AUTH_URL": "http://127.0.0.1:3000",
            "BETTER_AUTH_TELEMETRY": "0",
        },
        "backend": {
            "DATABASE_URL": sqlite,
            "AUTH_JWKS_URL": "http://127.0.0.1:9/jwks",
            "MCP_SERVER_URL": "http://127.0.0.1:9/mcp",
            "MCP_API_TOKEN": token,
        },
        "mcp": {"DATABASE_URL": sqlite, "MCP_API_TOKEN": token},
    }.get(name, {})


def measure_cold_starts(
    built: Mapping[str, BuiltImage], *, runner: Runner, n: int = 5
) -> dict[str, float]:
    """Median cold start of each HTTP image, on the host engine (ports on this machine's
    loopback; a minikube VM's engine would publish them inside the VM)."""
    docker = docker_cli(runner, {})
    return {
        name: cold_start(
            image.ref, spec.health_path, spec.port, cold_start_env(name), n, docker=docker
        )
        for name, image in built.items()
        if (spec := catalogue.default()[name]).health_path
    }
