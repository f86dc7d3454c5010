"""Bad input: one clear message naming the problem and the fix, a non-zero exit, nothing changed.

Each case drives the real `invoke` entry point in a subprocess with `-v`, so every command it
runs is echoed and checked to be a read-only probe. The cluster is a kubeconfig context aimed at
a closed loopback port (never the real `todo-host` cluster); the report goes to a temp file.
Every row of docs/bad-input.md is one test here.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from invoke import Exit

from tests.support.fakes import SECRET_ENV, Harness
from todo_deploy.base import catalogue
from todo_deploy.base.engine import EngineError, ensure_engine
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.flow import lifecycle as flow
from todo_deploy.providers.existing import ExistingProvider
from todo_deploy.steps import baseimages, images
from todo_deploy.steps.report import render
from todo_deploy.tasks.common import failures

ROOT = Path(__file__).resolve().parents[2]
BAD = Path(__file__).parent / "fixtures" / "bad_input"
CONTEXT = "docker-desktop"  # the fixture kubeconfig's context (no image loader tool needed)
# A command is read-only when it is one of these probes and carries none of the changing verbs.
READ_VERBS = {
    "--version",
    "version",
    "info",
    "template",
    "get",
    "current-context",
    "status",
    "docker-env",
    "ip",
    "inspect",  # docker image inspect / image ls: the dry run's plan of the images
    "ls",
}
WRITE_VERBS = {
    "upgrade",
    "apply",
    "build",
    "uninstall",
    "delete",
    "rollback",
    "push",
    "load",
    "import",
    "tag",
    "start",
    "rm",
    "create",
    "patch",
    "scale",
    "restart",
    "port-forward",
}


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    report: Path

    @property
    def commands(self) -> list[list[str]]:
        """Every command the suite ran (echoed by `-v` as `+ [ENV=...] argv`)."""
        return [shlex.split(line[2:]) for line in self.stdout.splitlines() if line.startswith("+ ")]

    @property
    def steps(self) -> list[tuple[str, str]]:
        if not self.report.exists():
            return []
        return [(s["name"], s["status"]) for s in json.loads(self.report.read_text())["steps"]]

    def assert_refused(self, *expected: str) -> None:
        """Exit 1 with one message holding `expected`; only read-only probes ran."""
        shown = f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        assert self.code == 1, shown
        assert "Traceback" not in self.stdout + self.stderr, shown
        assert self.stderr.count("error:") <= 1, f"more than one error message:\n{shown}"
        for text in expected:
            assert text in self.stderr, f"{text!r} missing from the message:\n{shown}"
        changing = [argv for argv in self.commands if not _read_only(argv)]
        assert not changing, f"commands that change something ran: {changing}"


def _read_only(argv: list[str]) -> bool:
    tokens = set(argv)
    return bool(tokens & READ_VERBS) and not tokens & WRITE_VERBS


@pytest.fixture(scope="module")
def engine() -> None:
    """The host Docker engine, for cases whose preflight must pass its engine probe."""
    try:
        ensure_engine(Runner())
    except EngineError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must provide a Docker engine: {error}")
        pytest.skip(str(error))


@pytest.fixture
def closed_port() -> Iterator[int]:
    # Bound but never listening: connections are refused, and no one else can take the port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def invoke(tmp_path: Path, closed_port: int) -> Callable[..., Outcome]:
    """invoke(task, *args, env=..., cwd=...) -> Outcome; the cluster context points at
    `closed_port`; it runs in the repository root unless `cwd` names another folder."""
    pinned = Tools(prefer_path=False)
    for name in ("helm", "kubectl"):  # cached now: a run with an empty PATH finds them
        pinned.path(name)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text((BAD / "kubeconfig.yaml").read_text().replace("PORT", str(closed_port)))
    report = tmp_path / "report.json"
    base = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    base = {k: v for k, v in base.items() if not k.startswith("INVOKE_")}
    base.update(
        NO_COLOR="1",
        KUBECONFIG=str(kubeconfig),
        XDG_STATE_HOME=str(tmp_path / "state"),
        INVOKE_DEPLOY_REPORT_JSON=str(report),
        INVOKE_DEPLOY_ENV_FILE=str(tmp_path / ".env"),
    )

    def run(task: str, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Outcome:
        proc = subprocess.run(
            [sys.executable, "-m", "invoke", task, *args],
            cwd=cwd,
            env={**base, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Outcome(proc.returncode, proc.stdout, proc.stderr, report)

    return run


def deploy_args(*extra: str) -> tuple[str, ...]:
    return ("-v", "--provider", "existing", "--kube-context", CONTEXT, *extra)


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--provider", "k3s",
         "provider: Input should be 'auto', 'minikube', 'kind', 'existing' or 'host'; got 'k3s'"),
        ("--method", "ansible", "method: Input should be 'helm' or 'kubectl'; got 'ansible'"),
    ],
)  # fmt: skip
def test_unknown_provider_or_method(invoke, flag: str, value: str, message: str) -> None:
    outcome = invoke("deploy", "-v", flag, value)
    outcome.assert_refused("error: invalid deploy configuration:", message)
    assert outcome.commands == [] and outcome.steps == []  # refused before any command


def test_unknown_minikube_ingress(invoke) -> None:
    outcome = invoke("deploy", "-v", env={"INVOKE_DEPLOY_MINIKUBE_INGRESS": "nginx"})
    outcome.assert_refused(
        "error: invalid deploy configuration:",
        "minikube.ingress: Input should be 'addon' or 'traefik'; got 'nginx'",
    )
    assert outcome.commands == [] and outcome.steps == []  # refused before any command


def test_missing_tool(invoke, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    outcome = invoke("deploy", *deploy_args(), env={"PATH": str(empty)})
    outcome.assert_refused(
        "preflight found 1 problem(s), nothing was changed",
        "docker not found or not runnable (docker): install Docker (Debian: "
        "`apt-get install docker.io`",
    )
    assert outcome.steps == [("preflight", "failed")]


def test_docker_engine_down(invoke, tmp_path: Path, require_tool) -> None:
    require_tool("docker")
    socket_path = tmp_path / "no-engine.sock"
    outcome = invoke("deploy", *deploy_args(), env={"DOCKER_HOST": f"unix://{socket_path}"})
    outcome.assert_refused(
        "preflight found 1 problem(s), nothing was changed",
        f"could not start a Docker engine: DOCKER_HOST=unix://{socket_path} does not answer. "
        "Start that engine, or unset DOCKER_HOST to use the local one.",
    )
    assert outcome.steps == [("preflight", "failed")]


@pytest.mark.docker  # preflight's engine probe must pass
def test_cluster_unreachable(invoke, engine, closed_port: int) -> None:
    outcome = invoke("deploy", *deploy_args())
    outcome.assert_refused(
        f"error: the cluster of context '{CONTEXT}' is not reachable (",
        f"127.0.0.1:{closed_port}",
        "was refused",
        "start it, or choose another with --kube-context NAME",
    )
    # Nothing after the reachability check ran: no images, no secrets, no release.
    assert outcome.steps == [("preflight", "ok"), ("cluster up", "failed")]


@pytest.mark.docker  # preflight's engine probe must pass
def test_missing_required_secret(invoke, engine) -> None:
    outcome = invoke("deploy", *deploy_args("--openai"))
    outcome.assert_refused(
        "preflight found 1 problem(s), nothing was changed",
        "OPENAI_API_KEY is required with --openai; set it with `export OPENAI_API_KEY=...` or "
        "a line `OPENAI_API_KEY=...` in",
    )
    assert outcome.steps == [("preflight", "failed")]


@pytest.mark.docker  # preflight's engine probe must pass
def test_malformed_database_url(invoke, engine) -> None:
    url = "mysql://todo:hunter2-not-shown@db.example:3306/todo"
    outcome = invoke("deploy", *deploy_args(), env={"DATABASE_URL": url})
    outcome.assert_refused(
        "preflight found 1 problem(s), nothing was changed",
        "DATABASE_URL is malformed: expected postgresql://USER:PASSWORD@HOST:5432/DB "
        "(the value is not shown)",
    )
    assert "hunter2-not-shown" not in outcome.stdout + outcome.stderr
    assert outcome.steps == [("preflight", "failed")]


@pytest.mark.docker  # preflight's engine probe must pass
@pytest.mark.parametrize(
    ("folder", "given"),
    [(ROOT, str(BAD / "bad-values.yaml")), (BAD.parent, "bad_input/bad-values.yaml")],
    ids=["from the root", "from a subfolder"],
)
def test_values_file_the_schema_rejects(invoke, engine, folder: Path, given: str) -> None:
    """From a subfolder too: invoke.yaml's paths are the repository's, a typed one the user's."""
    bad = BAD / "bad-values.yaml"
    outcome = invoke("deploy", *deploy_args("--values", given), cwd=folder)
    outcome.assert_refused(
        "preflight found 1 problem(s), nothing was changed",
        f"the chart rejects the values ({ROOT / 'helm/todo-app/values-dev.yaml'}, {bad}):",
        "at '/replicas/backend': got string, want integer",  # helm's own schema message
        "fix the value named",
    )
    assert any("template" in argv for argv in outcome.commands), "helm template did not run"
    assert outcome.steps == [("preflight", "failed")]


def test_port_in_use_for_port_forward(invoke) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        outcome = invoke("port-forward", "--provider", "existing", "--kube-context", CONTEXT,
                         "--port", str(port))  # fmt: skip
    outcome.assert_refused(
        f"port 127.0.0.1:{port} is already in use",
        "pick a free port with --port N",
    )
    assert "port-forward --address" not in outcome.stdout  # kubectl was never started


@pytest.mark.docker
def test_image_that_fails_to_build(engine) -> None:
    context = BAD.relative_to(ROOT) / "broken-image"
    spec = images.ImageSpec(
        "bad-input-broken", str(context), f"{context}/Dockerfile", base_args=(), runtime_base=""
    )
    runner = Runner()
    builder = images.Builder(images.docker_cli(runner, {}))
    # The one-image build the suite runs for every image (no base images needed: FROM scratch).
    with pytest.raises(Exit) as refused, failures():
        builder._build_one(spec, images.source_digest(spec))
    message = str(refused.value.message)
    assert refused.value.code == 1
    assert "step failed: build todo-bad-input-broken:" in message
    assert "not-in-the-context.txt" in message, f"the build's own error is missing:\n{message}"
    left = runner.run(["docker", "image", "ls", "-q", "todo-bad-input-broken"], mutating=False)
    assert left.stdout.strip() == "", "a failed build left an image behind"


def test_base_image_that_cannot_be_pulled(engine, closed_port: int, monkeypatch) -> None:
    # A registry on a closed loopback port: the pull fails at once and nothing leaves the host.
    official = f"127.0.0.1:{closed_port}/todo-bad-input/base:never"
    base = baseimages.BaseImage("BAD_INPUT_IMAGE", official, "todo-base-bad-input:never")
    monkeypatch.setattr(baseimages, "BASES", (base,))
    runner = Runner()
    with pytest.raises(Exit) as refused, failures():
        baseimages.ensure_base_images(images.docker_cli(runner, {}))
    message = str(refused.value.message)
    assert refused.value.code == 1
    assert f"could not pull the base images {official} " in message
    assert "docker tag <image> todo-base-bad-input:never" in message
    assert [argv[1:] for argv in runner.history if "pull" in argv] == [("pull", official)]
    assert not [argv for argv in runner.history if {"build", "import", "tag"} & set(argv)]


def test_hosts_entry_missing_is_a_hint_not_a_failure(harness: Harness, tmp_path: Path) -> None:
    h = harness
    h.fake.on("config", "current-context", stdout=f"{CONTEXT}\n")
    config = h.config(provider="existing")
    provider = ExistingProvider(config, h.runner)
    report = flow.deploy(h.target(config, provider), hooks=h.hooks())
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    render(report, h.console, hosts_file=hosts)
    shown = " ".join(h.out.getvalue().split())  # as one line, whatever the console width
    assert [s.status for s in report.steps] == ["ok"] * len(report.steps)
    assert (
        f"hint: todo.local is not in {hosts}; to open the app by name, add the line "
        f"127.0.0.1 todo.local (as root: `echo '127.0.0.1 todo.local' >> {hosts}`)"
    ) in shown
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1 todo.local  # added\n")
    h.out.truncate(0)
    render(report, h.console, hosts_file=hosts)
    assert "hint:" not in h.out.getvalue()


# Stands in for the minikube binary, which cannot run here: answers the read-only probes and
# records every call, so the test sees that the dry run never asked it to change anything.
STAND_IN_MINIKUBE = """#!/bin/sh
echo "$*" >> "$0.calls"
case "$*" in
  "version --short"*) echo v1.36.0 ;;
  "status -o json"*) echo '{"Host": "Stopped"}'; exit 7 ;;
  "docker-env -o json"*) echo '{}' ;;
  "ip"*) echo 127.0.0.1 ;;
  *) exit 99 ;;
esac
"""


@pytest.fixture
def stand_in_minikube(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "minikube-bin"
    bin_dir.mkdir()
    minikube = bin_dir / "minikube"
    minikube.write_text(STAND_IN_MINIKUBE)
    minikube.chmod(0o755)
    return minikube


@pytest.mark.docker  # preflight's engine probe must pass, so the dry run goes past it
@pytest.mark.parametrize("task", ["deploy", "teardown"])
def test_invokes_own_dry_flag_is_a_dry_run(invoke, engine, stand_in_minikube, task: str) -> None:
    path = f"{stand_in_minikube.parent}{os.pathsep}{os.environ['PATH']}"
    # CI runs as root, which minikube refuses unless asked to (minikube.force).
    env = {"PATH": path, "INVOKE_DEPLOY_MINIKUBE_FORCE": "true"}
    outcome = invoke("--dry", task, "--provider", "minikube", env=env)
    shown = f"exit {outcome.code}\n{outcome.stdout}\n{outcome.stderr}"
    assert outcome.code == 0 and "Traceback" not in shown, shown
    assert outcome.commands, f"no command was echoed:\n{shown}"  # --dry echoes like --dry-run
    changing = [argv for argv in outcome.commands if not _read_only(argv)]
    assert not changing, f"commands that change something ran: {changing}\n{shown}"
    asked = Path(f"{stand_in_minikube}.calls").read_text().splitlines()
    assert all(call.split()[0] in ("version", "status", "docker-env", "ip") for call in asked)
    assert not outcome.report.exists(), "a dry run wrote the report"
    if task == "deploy":  # the whole plan was shown, each change as a [dry-run] line
        planned = [line for line in outcome.stdout.splitlines() if line.startswith("[dry-run] ")]
        for step in ("minikube start", "helm upgrade --install", "kubectl --context todo apply"):
            assert any(step in line for line in planned), f"{step} missing:\n{shown}"


def test_invokes_own_dry_flag_leaves_k8s_unchanged(invoke) -> None:
    before = {p.name: p.read_bytes() for p in (ROOT / "k8s").iterdir()}
    outcome = invoke("--dry", "manifests")
    assert outcome.code == 0, outcome.stderr
    assert "[dry-run]" in outcome.stdout
    assert {p.name: p.read_bytes() for p in (ROOT / "k8s").iterdir()} == before


@pytest.mark.parametrize("task", ["dev", "isolation", "images.build"])
def test_tasks_without_a_dry_run_refuse_invokes_dry_flag(invoke, task: str) -> None:
    outcome = invoke("--dry", task)
    assert outcome.code == 2 and "has no dry run; run it without --dry" in outcome.stderr
    assert outcome.commands == [] and "Traceback" not in outcome.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("port-forward", "--port", "abc"), "--port 'abc' is not a TCP port"),
        (("port-forward", "--port", "70000"), "--port '70000' is not a TCP port"),
        (("logs", "-c", "backend", "--tail", "many"), "--tail 'many' is not a number of lines"),
        (("deploy", "--timeout", "-5"), "--timeout '-5' is not a number of seconds"),
    ],
)
def test_integer_flags_refuse_bad_values_with_a_message(invoke, args, message: str) -> None:
    outcome = invoke(*args)
    assert outcome.code == 1 and message in outcome.stderr, outcome.stderr
    assert "Traceback" not in outcome.stderr and outcome.commands == []


def test_short_flags_mean_the_same_in_every_task() -> None:
    from tasks import ns

    meanings: dict[str, set[str]] = {}
    for name in ns.task_names:
        # A copy: Invoke's get_arguments() consumes the task's help texts.
        for arg in copy.deepcopy(ns[name]).get_arguments():
            for short in (n for n in arg.names if len(n) == 1):
                meanings.setdefault(short, set()).add(arg.name)
    assert {k: v for k, v in meanings.items() if len(v) > 1} == {}
    assert meanings["p"] == {"provider"}


def test_invoke_dev_with_a_port_held_by_another_process(invoke, require) -> None:
    """The back end's port is taken (say, by an `invoke dev` still running): named, not raced."""
    port = catalogue.default()["backend"].port
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            held.bind(("127.0.0.1", port))
        except OSError:
            require(False, f"port {port} free for this test")
        held.listen()
        outcome = invoke("dev")
    outcome.assert_refused(
        f"port {port} (backend) is in use by pid {os.getpid()} (",
        f"`kill {os.getpid()}`",
        "nothing was started",
    )
