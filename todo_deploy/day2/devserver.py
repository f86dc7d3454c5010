"""`invoke dev`: the app's services on this machine, no Kubernetes, on a SQLite file in .dev/."""

from __future__ import annotations

import contextlib
import secrets as random
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from todo_deploy.base import catalogue, listeners
from todo_deploy.base.run import Process, Runner

DEV_DIR = ".dev"
# Kept in .dev/ (git-ignored): better-auth encrypts its JWKS keys with its secret, so a new
# secret on every start would break the keys already in the database.
SECRETS_FILE = "secrets.env"
UV_RUN = ["uv", "run", "--all-packages", "--"]
LOCAL = "127.0.0.1"  # every service listens on loopback only


@dataclass(frozen=True)
class DevService:
    name: str
    argv: list[str]
    cwd: Path
    url: str
    env: dict[str, str] = field(default_factory=dict)


def dev_secrets(dev_dir: Path) -> dict[str, str]:
    path = dev_dir / SECRETS_FILE
    stored = {k: v for k, v in dotenv_values(path).items() if v} if path.exists() else {}
    for key in ("BETTER_AUTH_SECRET", "MCP_API_TOKEN"):
        stored.setdefault(key, random.token_urlsafe(32))
    dev_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in stored.items()))
    path.chmod(0o600)
    return stored


def _ports() -> dict[str, int]:
    """Each service listens on its port from the chart, as in the cluster."""
    chart = catalogue.default()
    return {name: chart[name].port for name in ("frontend", "backend", "mcp")}


def dev_env(repo: Path, secrets: dict[str, str]) -> dict[str, str]:
    database = (repo / DEV_DIR / "todo.db").resolve()
    port = _ports()
    frontend = f"http://127.0.0.1:{port['frontend']}"
    browsers = f"http://localhost:{port['frontend']},{frontend}"
    return {
        "DATABASE_URL": f"sqlite:///{database}",
        "AUTH_JWKS_URL": f"{frontend}/api/auth/jwks",
        "MCP_SERVER_URL": f"http://127.0.0.1:{port['mcp']}/mcp",
        "MCP_ALLOWED_HOSTS": f"127.0.0.1:{port['mcp']},localhost:{port['mcp']}",
        "BETTER_AUTH_URL": frontend,
        "TRUSTED_ORIGINS": browsers,
        "BACKEND_URL": f"http://127.0.0.1:{port['backend']}",
        "ALLOWED_ORIGINS": browsers,
        "API_DOCS": "true",  # the API's own docs, for development only
        **secrets,
    }


def dev_services(repo: Path, chart: catalogue.Catalogue | None = None) -> list[DevService]:
    """Every component whose manifest entry (components.yaml's `dev`) says how to run it, on
    loopback at its port from the chart, as in the cluster."""
    chart = chart or catalogue.default()
    return [_dev_service(c, c.dev, repo) for c in chart.components.values() if c.dev]


def _dev_service(component: catalogue.Component, run: catalogue.DevRun, repo: Path) -> DevService:
    values = {"host": LOCAL, "port": str(component.port), "repo": str(repo)}
    path = run.open_path or component.health_path or "/"
    return DevService(
        component.name,
        [_fill(arg, values) for arg in run.argv],
        repo / run.cwd,
        f"http://{LOCAL}:{component.port}{path}",
        {key: _fill(value, values) for key, value in run.env.items()},
    )


def _fill(text: str, values: dict[str, str]) -> str:
    """{host}, {port} and {repo} filled in; any other brace (a script's own) is left alone."""
    for key, value in values.items():
        text = text.replace(f"{{{key}}}", value)
    return text


class DevError(RuntimeError):
    """`invoke dev` cannot start (a port is taken): nothing was started."""


class _Stopped(Exception):
    """A stop signal (SIGTERM, SIGHUP) arrived: stop the services as Ctrl-C does."""


# What a closed terminal, a process manager or an IDE's stop button sends.
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


def run_dev(
    runner: Runner,
    repo: Path,
    say: Callable[[str], None],
    poll: float = 1.0,
    show: Callable[[str, str, str], None] | None = None,
) -> None:
    """Migrate, start every service, print URLs; stop them all on Ctrl-C, SIGTERM or SIGHUP,
    or when one exits.

    Each service's output comes through `show(service, label, line)`, masked (default: `say`
    with a `service | ` prefix).
    """
    services = dev_services(repo)
    refuse_taken_ports(services, runner)
    env = dev_env(repo, dev_secrets(repo / DEV_DIR))
    runner.add_secrets([env["BETTER_AUTH_SECRET"], env["MCP_API_TOKEN"]])
    migrate = [*UV_RUN, "python", "-m", "todo_backend.migrate"]
    runner.run(migrate, step="migrate", env=env, cwd=repo, timeout=300)
    if not (repo / "frontend" / "node_modules").is_dir():
        frontend = str(repo / "frontend")
        runner.run(["npm", "ci", "--prefix", frontend], step="npm ci (frontend)", timeout=900)
    supervise(services, env, runner, say, poll, show)


def refuse_taken_ports(services: list[DevService], runner: Runner) -> None:
    """Name each port a service needs that something else holds, and how to free it."""
    taken = []
    for svc in services:
        port = urlsplit(svc.url).port
        if port is None or _free(port):
            continue
        found = listeners.holders(port, runner)
        who = ", ".join(h.describe() for h in found) or "a process this user cannot see"
        stop = f"`kill {' '.join(str(h.pid) for h in found)}`" if found else "stop it"
        taken.append(f"port {port} ({svc.name}) is in use by {who}: {stop}")
    if taken:
        raise DevError(
            "invoke dev needs its ports free, nothing was started:\n"
            + "\n".join(f"  - {line}" for line in taken)
            + "\n(an earlier `invoke dev` still running? stop it, then run `invoke dev` again)"
        )


def _free(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def supervise(
    services: list[DevService],
    env: dict[str, str],
    runner: Runner,
    say: Callable[[str], None],
    poll: float = 1.0,
    show: Callable[[str, str, str], None] | None = None,
) -> None:
    """Start `services`, relay their output, and stop them all when told to or one exits."""
    show = show or (lambda _, label, line: say(f"{label} | {line}"))
    procs: dict[str, Process] = {}
    with _stop_signals_raise():
        try:
            for svc in services:
                say(f"starting {svc.name}: {runner.describe(svc.argv)}")
                # Detached: Ctrl-C reaches only us, and stopping a service stops its children
                # too (npm -> next -> next-server).
                procs[svc.name] = runner.spawn(
                    svc.argv,
                    step=f"start {svc.name}",
                    cwd=svc.cwd,
                    env={**env, **svc.env},
                    detach=True,
                )
                _relay(procs[svc.name], svc.name, show)
            say("\n".join(f"{s.name}: {s.url}" for s in services) + "\nCtrl-C stops all")
            while all(p.poll() is None for p in procs.values()):
                time.sleep(poll)
            exited = [n for n, p in procs.items() if p.poll() is not None]
            raise RuntimeError(f"{', '.join(exited)} exited; stopped the others (see its output)")
        except KeyboardInterrupt:
            say("stopping")
        except _Stopped as stopped:
            say(f"stopping ({stopped})")
        finally:
            _stop_all(list(procs.values()))


@contextlib.contextmanager
def _stop_signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the services as Ctrl-C does (main thread only: Python's rule)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise _Stopped(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _relay(process: Process, name: str, show: Callable[[str, str, str], None]) -> None:
    """Pass the service's output on, line by line (masked by the Runner), from a thread."""

    def pump() -> None:
        for line in process.lines():
            show(name, name, line)

    threading.Thread(target=pump, daemon=True, name=f"dev {name}").start()


def _stop_all(processes: list[Process]) -> None:
    # Every service asked first, so they wind down together; then each waited for.
    for process in processes:
        process.terminate()
    for process in processes:
        process.stop(grace=15)
