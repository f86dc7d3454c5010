"""The first run, exactly as README says it, on this machine as a newcomer finds it.

A fresh clone, a fresh HOME (no suite state or cache, no .venv, the user's own tool settings of
this machine kind copied: pip's, Go's and npm's), a PATH without uv, and the stand-in base tags
removed from the engine (put back afterwards when the run did not make them again, so the
sessions after find the machine as it was). Then README's first quick-start line as it stands,
`/health` and a sign-up through the ingress, and `invoke teardown --cluster`. Reused, as README
says a second run may: the host cluster's built binaries (the new HOME's cache links to them),
Go's module and build caches, Docker's build cache. Each phase's time is printed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.e2e.app_client import AppClient
from tests.quickstart.readme import ROOT, quick_start
from todo_deploy.base import paths
from todo_deploy.base.engine import engine_answers, ensure_engine
from todo_deploy.base.run import Runner
from todo_deploy.providers.host.layout import API_PORT
from todo_deploy.steps.baseimages import BASES
from todo_deploy.steps.images import SPECS

HOST = "todo.local"
INGRESS = "http://127.0.0.1"
# What a user of this machine kind has in HOME before any of ours: registry settings and CAs.
USER_SETTINGS = (".config/pip/pip.conf", ".config/go/env", ".npmrc", ".pip/pip.conf")
# The environment of the CI job and of nox, not of a newcomer's shell.
NOT_A_NEWCOMERS = ("VIRTUAL_ENV", "PYTHONPATH", "NOX_CURRENT_SESSION", "CI")
NOT_A_NEWCOMERS_PREFIXES = ("XDG_", "TODO_", "INVOKE_", "UV_")
TEARDOWN = "uv run --no-dev invoke teardown --cluster"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the host provider's first run needs root"),
    pytest.mark.timeout(3 * 3600),  # a cold machine builds Kubernetes from Go modules first
]


class Phases:
    """Times each phase and prints them all at the end."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        print(f"\n==> quickstart: {name}", flush=True)
        started = time.monotonic()
        yield
        self.seconds[name] = time.monotonic() - started
        print(f"==> quickstart: {name}: {self.seconds[name]:.1f} s", flush=True)

    def table(self) -> str:
        rows = [f"  {seconds:8.1f} s  {name}" for name, seconds in self.seconds.items()]
        total = f"  {sum(self.seconds.values()):8.1f} s  in all"
        return "\n".join(["quickstart figures:", *rows, total])


def session_commands() -> list[str]:
    """What the session runs in the clone, in order: README's first line, then the teardown."""
    return [quick_start().deploy, TEARDOWN]


def machine_python() -> str:
    """The python3 a newcomer's shell finds first (not nox's virtualenv)."""
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not _is_venv_bin(p))
    found = shutil.which("python3", path=path)
    assert found, "no python3 on the machine's PATH"
    probe = [found, "-c", "import sys; print(sys.executable)"]
    return subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()


def _is_venv_bin(entry: str) -> bool:
    return (Path(entry).parent / "pyvenv.cfg").exists()


def newcomer_env(home: Path, tools: Path) -> dict[str, str]:
    """A fresh user's environment: HOME fresh, no uv on PATH, Go's caches kept."""
    entries = [
        p
        for p in os.environ["PATH"].split(os.pathsep)
        if p and not _is_venv_bin(p) and not (Path(p) / "uv").exists()
    ]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in NOT_A_NEWCOMERS and not k.startswith(NOT_A_NEWCOMERS_PREFIXES)
    }
    env.update(HOME=str(home), PATH=os.pathsep.join([str(tools), *entries]))
    # CI put uv into this python's own site-packages (.ci/run): pip would call it "already
    # satisfied" and install nothing for the user, where a fresh machine's pip installs it.
    env["PIP_IGNORE_INSTALLED"] = "1"
    # Go's module and build caches are reused (as README says a second run does).
    go_env = subprocess.run(["go", "env", "GOMODCACHE", "GOCACHE"], capture_output=True, text=True)
    caches = go_env.stdout.split()
    if go_env.returncode == 0 and len(caches) == 2:
        env.update(GOMODCACHE=caches[0], GOCACHE=caches[1])
    return env


def fresh_home(work: Path) -> Path:
    home = work / "home"
    home.mkdir(parents=True)
    for rel in USER_SETTINGS:
        source = Path.home() / rel
        if source.is_file():
            (home / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, home / rel)
    # The host cluster's built binaries, reached through a symlink as a shared cache would be.
    shared = paths.cache_root() / "host"
    shared.mkdir(parents=True, exist_ok=True)
    linked = home / ".cache" / "todo-deploy" / "host"
    linked.parent.mkdir(parents=True)
    linked.symlink_to(shared)
    print(f"fresh HOME {home}; its {linked.relative_to(home)} links to {shared} (built binaries)")
    return home


def run_as_newcomer(command: str, cwd: Path, env: dict[str, str]) -> str:
    """Run `command` with bash, as typed; output streamed live and returned."""
    print(f"$ {command}", flush=True)
    process = subprocess.Popen(
        ["bash", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, bufsize=1,
    )  # fmt: skip
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(f"  | {line}")
        lines.append(line)
    code = process.wait()
    output = "".join(lines)
    assert code == 0, f"`{command}` exited {code}; its last lines:\n{''.join(lines[-40:])}"
    return output


SET_ASIDE = "todo-quickstart-set-aside"


def _docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True)


@contextmanager
def an_engine_meanwhile(work: Path) -> Iterator[bool]:
    """An engine for the set-aside; one started here is stopped again (yields: one was running).

    A machine just booted has no engine running: README's line must start it itself, so the
    run only borrows one to untag the stand-ins and leaves the machine as it found it.
    """
    if engine_answers():
        yield True
        return
    state = work / "engine-for-the-set-aside"
    print(ensure_engine(Runner(), state_dir=state), flush=True)
    try:
        yield False
    finally:
        stop = ["start-stop-daemon", "--stop", "--pidfile", str(state / "dockerd.pid")]
        subprocess.run([*stop, "--retry", "TERM/60/KILL/5"], check=True)
        assert not engine_answers(), "the engine started for the set-aside still answers"
        print("engine stopped again: README's line finds none, as after a boot", flush=True)


def remove_stand_in_tags() -> dict[str, str]:
    """Untag the stand-in bases; their images stay under a set-aside tag, to be put back."""
    kept = {}
    for base in BASES:
        found = _docker("image", "inspect", "--format", "{{.Id}}", base.stand_in)
        if found.returncode != 0:
            continue
        aside = f"{SET_ASIDE}:{base.arg.lower()}"
        _docker("tag", found.stdout.strip(), aside)
        assert _docker("rmi", base.stand_in).returncode == 0, f"could not untag {base.stand_in}"
        kept[base.stand_in] = aside
    return kept


def put_back(kept: dict[str, str]) -> None:
    """The machine as found: a stand-in the run did not make again gets its tag back."""
    for tag, aside in kept.items():
        if _docker("image", "inspect", tag).returncode != 0:
            _docker("tag", aside, tag)
        _docker("rmi", aside)


def api_listening() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", API_PORT)) == 0


def use_the_app() -> None:
    health = requests.get(f"{INGRESS}/health", headers={"Host": HOST}, timeout=10)
    assert health.status_code == 200, health.text
    client = AppClient(INGRESS, HOST)
    client.sign_up()
    client.fetch_token()
    created = client.request("POST", client.tasks_path(), json={"title": "first run"})
    assert created.status_code in (200, 201), created.text
    listed = client.request("GET", client.tasks_path()).json()
    assert [task["title"] for task in listed] == ["first run"]


def official_bases_present() -> bool:
    found = [subprocess.run(["docker", "image", "inspect", b.official], capture_output=True)
             for b in BASES]  # fmt: skip
    return all(result.returncode == 0 for result in found)


def stop_what_was_left(clone: Path, env: dict[str, str]) -> None:
    """After a failure: stop the cluster the run started, so the next sessions find the ports."""
    if api_listening() and clone.exists():
        subprocess.run(["uv", "run", "--no-dev", "invoke", "cluster.down"], cwd=clone, env=env)


def test_the_first_run_works_exactly_as_readme_says() -> None:
    assert not api_listening(), "a host cluster already runs here: the first run needs its ports"
    phases = Phases()
    work = Path(tempfile.mkdtemp(prefix="todo-quickstart-", dir="/var/tmp"))
    deploy, teardown = session_commands()
    clone, env = work / "clone", dict(os.environ)
    kept: dict[str, str] = {}
    try:
        with phases("fresh clone"):
            subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        home = fresh_home(work)
        tools = work / "bin"
        tools.mkdir()
        (tools / "python3").symlink_to(machine_python())
        env = newcomer_env(home, tools)
        assert shutil.which("uv", path=env["PATH"]) is None, "uv is still on the newcomer's PATH"
        with phases("stand-in base tags removed"), an_engine_meanwhile(work) as was_running:
            kept = remove_stand_in_tags()
            print(f"removed: {', '.join(kept) or 'none were there'}")
        with phases("README, line 1 (get uv, deploy)"):
            shown = run_as_newcomer(deploy, clone, env)
        assert (home / ".local" / "bin" / "uv").exists(), "README's line did not install uv"
        with phases("/health and a sign-up through the ingress"):
            use_the_app()
        # The newcomer's shell has ~/.local/bin on PATH now: README's line exported it.
        env["PATH"] = f"{home}/.local/bin{os.pathsep}{env['PATH']}"
        with phases("teardown --cluster"):
            run_as_newcomer(teardown, clone, env)
        assert not api_listening(), "teardown --cluster left the API server running"
        assert "Traceback" not in shown
        if not was_running:
            assert "No Docker engine was running: " in shown, "the deploy did not start the engine"
        # Here no registry answers: the deploy itself built the stand-ins (and said so first),
        # or it built nothing and reused images made from these very sources without a base.
        built_bases = "cannot be pulled" in shown and "Built todo-base-" in shown
        no_base_needed = shown.count("its base image is not needed") == len(SPECS)
        how = "built stand-ins" if built_bases else "no base needed" if no_base_needed else "?"
        print(f"base images in this first run: {how}")
        assert built_bases or no_base_needed or official_bases_present(), shown[-3000:]
    finally:
        stop_what_was_left(clone, env)
        put_back(kept)
        print(phases.table())
        shutil.rmtree(work, ignore_errors=True)
