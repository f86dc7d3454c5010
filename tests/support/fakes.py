"""Fakes for the suite's unit tests: a command executor standing in for a cluster, a fake
host provider, and a throwaway project layout.

The Runner's `execute` and `spawner` are swapped for `FakeExec`, which answers each argv from a
table of rules and records every call (argv, env, stdin, cwd; the spawned ones too), so tests
assert the exact command chain.
"""

from __future__ import annotations

import io
import json
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from tests.support.streams import FakeStream
from todo_deploy.base.config import DeployConfig, build_config, collection_defaults
from todo_deploy.base.run import Result, Runner, SpawnSpec
from todo_deploy.base.tools import Tools
from todo_deploy.flow.lifecycle import Hooks
from todo_deploy.providers.base import ClusterFacts, ClusterStatus, IngressAccess, Provider
from todo_deploy.steps.target import Target

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "unit" / "fixtures"
CHART = ROOT / "helm" / "todo-app"
TOOLS = Tools(helm="helm", kubectl="kubectl", minikube="minikube")
SECRET_ENV = (
    "BETTER_AUTH_SECRET",
    "MCP_API_TOKEN",
    "POSTGRES_PASSWORD",
    "POSTGRES_BACKEND_PASSWORD",
    "POSTGRES_MCP_PASSWORD",
    "POSTGRES_FRONTEND_PASSWORD",
    "DATABASE_URL",
    "OPENAI_API_KEY",
)


@dataclass
class Call:
    argv: tuple[str, ...]
    env: dict[str, str]
    stdin: str | None
    cwd: Path | None = None
    spawned: SpawnSpec | None = None  # how it was started, for a `Runner.spawn`

    @property
    def line(self) -> str:
        return shlex.join(self.argv)


# The release lock's calls: its namespace, and its Lease taken, renewed, read and deleted.
LOCK_CALL = re.compile(
    r" (get|create) namespace \S+( -o json)?$| (create|replace) -f -$| lease \S+-release-lock"
)
Answer = Callable[[tuple[str, ...], "str | None"], Result]


def _has_in_order(argv: Sequence[str], tokens: Sequence[str]) -> bool:
    it = iter(argv)
    return all(any(token == arg for arg in it) for token in tokens)


@dataclass
class FakeExec:
    rules: list[tuple[tuple[str, ...], Result | Answer]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    processes: list[FakeStream] = field(default_factory=list)  # what `spawn` started, in order

    def on(self, *tokens: str, rc: int = 0, stdout: Any = "", stderr: str = "") -> None:
        """Answer argv containing `tokens` in order; later rules win over earlier ones."""
        text = stdout if isinstance(stdout, str) else json.dumps(stdout)
        self.rules.insert(0, (tokens, Result(tokens, rc, text, stderr)))

    def answer(self, *tokens: str, by: Answer) -> None:
        """Answer argv containing `tokens` with `by(argv, stdin)`: a real tool, for one."""
        self.rules.insert(0, (tokens, by))

    def __call__(self, argv, env, timeout, stdin, on_line=None, cwd=None) -> Result:
        self.calls.append(Call(tuple(argv), dict(env), stdin, cwd))
        result = self._answer(tuple(argv), stdin)
        for line in (result.stdout + result.stderr).splitlines() if on_line else ():
            on_line(line)
        return result

    def spawn(self, spec: SpawnSpec) -> FakeStream:
        """The Runner's `spawner`: a process printing its rule's output, then running until it
        is stopped (a rule with rc != 0: one that exited at once). Pids count from 4242."""
        self.calls.append(Call(spec.argv, dict(spec.env), None, spec.cwd, spec))
        result = self._answer(spec.argv, None)
        lines = (result.stdout + result.stderr).splitlines()
        pid = 4242 + len(self.processes)
        self.processes.append(FakeStream(lines, result.ok, result.returncode, pid))
        return self.processes[-1]

    def _answer(self, argv: tuple[str, ...], stdin: str | None) -> Result:
        rule = next((r for tokens, r in self.rules if _has_in_order(argv, tokens)), None)
        if rule is None:
            return Result(argv, 0)
        result = rule if isinstance(rule, Result) else rule(argv, stdin)
        return Result(argv, result.returncode, result.stdout, result.stderr)

    @property
    def spawned(self) -> list[Call]:
        """The calls `Runner.spawn` made."""
        return [c for c in self.calls if c.spawned]

    @property
    def lines(self) -> list[str]:
        return [c.line for c in self.calls]

    @property
    def unlocked_lines(self) -> list[str]:
        """`lines` without the release lock's own kubectl calls (tests/unit/test_lock.py)."""
        return [line for line in self.lines if not LOCK_CALL.search(line)]


@dataclass
class FakeEngine:
    """`docker image inspect` as Docker 28 answers it, for the images in `images`: one line per
    image found, in the order asked; a line on stderr for each missing one, then exit 1."""

    images: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(
        self, ref: str, *, id: str = "sha256:1", size: int = 1000, labels: dict | None = None
    ) -> None:
        self.images[ref] = {"Id": id, "Size": size, "Labels": labels}

    def install(self, fake: FakeExec) -> FakeEngine:
        fake.answer("docker", "image", "inspect", by=self.inspect)
        return self

    def inspect(self, argv: Sequence[str], stdin: str | None) -> Result:
        args = list(argv[argv.index("inspect") + 1 :])
        template = args[args.index("--format") + 1] if "--format" in args else None
        refs = [
            a for i, a in enumerate(args) if a != "--format" and args[i - 1 : i] != ["--format"]
        ]
        found = [self._render(ref, template) for ref in refs if ref in self.images]
        missing = [
            f"Error response from daemon: no such image: {ref}: No such image: {ref}"
            for ref in refs
            if ref not in self.images
        ]
        out = "".join(f"{line}\n" for line in found)
        return Result(tuple(argv), 1 if missing else 0, out, "".join(f"{m}\n" for m in missing))

    def _render(self, ref: str, template: str | None) -> str:
        image = self.images[ref]
        if template is None:
            return json.dumps([{"Id": image["Id"], "RepoTags": [ref]}])
        labels = image["Labels"] or {}

        def label(match: re.Match[str]) -> str:
            return labels.get(match.group(1), "<no value>")

        text = re.sub(r'\{\{index \.Config\.Labels "([^"]+)"\}\}', label, template)
        for field_, value in (
            ("{{json .RepoTags}}", json.dumps([ref])),
            ("{{json .Config.Labels}}", json.dumps(image["Labels"])),
            ("{{.Id}}", image["Id"]),
            ("{{.Size}}", str(image["Size"])),
        ):
            text = text.replace(field_, value)
        return text


def ready_workloads() -> dict[str, Any]:
    def item(kind: str, name: str, replicas: int) -> dict[str, Any]:
        return {
            "kind": kind,
            "metadata": {"name": name},
            "spec": {"replicas": replicas},
            "status": {"readyReplicas": replicas},
        }

    return {
        "items": [
            item("Deployment", "todo-backend", 2),
            item("Deployment", "todo-mcp", 1),
            item("StatefulSet", "todo-postgres", 1),
        ]
    }


def healthy_cluster(fake: FakeExec, *, minikube_running: bool = False) -> FakeExec:
    fake.on("docker", "--version", stdout="Docker version 28.1.1, build 4eba377\n")
    fake.on("kubectl", "version", "--client", stdout={"clientVersion": {"gitVersion": "v1.35.2"}})
    fake.on("helm", "version", stdout="v4.1.4+g1234\n")
    fake.on("minikube", "version", stdout="v1.36.0\n")
    fake.on("docker", "info", stdout="28.1.1\n")
    state = "Running" if minikube_running else "Stopped"
    fake.on(
        "minikube",
        "status",
        rc=0 if minikube_running else 7,
        stdout={"Name": "todo", "Host": state, "Kubelet": state, "APIServer": state},
    )
    fake.on(
        "minikube",
        "docker-env",
        stdout={
            "DOCKER_TLS_VERIFY": "1",
            "DOCKER_HOST": "tcp://192.168.49.2:2376",
            "DOCKER_CERT_PATH": "/root/.minikube/certs",
            "MINIKUBE_ACTIVE_DOCKERD": "todo",
        },
    )
    fake.on("minikube", "ip", stdout="192.168.49.2\n")
    fake.on("get", "endpoints", stdout={"subsets": [{"addresses": [{"ip": "10.244.0.5"}]}]})
    fake.on("get", "secret", rc=1, stderr='Error from server (NotFound): secrets "todo-secrets"')
    fake.on("get", "deployments,statefulsets", stdout=ready_workloads())
    fake.on("get", "pvc", stdout={"items": []})
    # A cluster with an ingress controller (kind-kind's defaults have none: tested apart).
    fake.on("get", "ingressclass", stdout={"items": [{"metadata": {"name": "nginx"}}]})
    return fake


@dataclass
class FakeImage:
    name: str
    ref: str
    tag: str
    seconds: float = 1.0
    size_bytes: int = 100_000_000
    reused: bool = False


@dataclass
class FakeBuilder:
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, names, *, docker_env, runner, repositories=None):
        repositories = repositories or {}
        self.calls.append(
            {"names": list(names), "docker_env": dict(docker_env), "repositories": repositories}
        )
        return {
            n: FakeImage(n, f"{repositories.get(n, f'todo-{n}')}:c0ffee{i}", f"c0ffee{i}")
            for i, n in enumerate(names)
        }


@dataclass
class Harness:
    fake: FakeExec
    runner: Runner
    printed: list[str]
    out: io.StringIO
    console: Console
    builder: FakeBuilder
    project: Path

    def hooks(self, memory_mb: int = 16000) -> Hooks:
        return Hooks(
            build_images=self.builder,
            http_get=lambda url, host: 200,
            preflight={"mem_available_mb": lambda: memory_mb, "start_engine": _no_engine},
        )

    def config(self, **flags: Any) -> DeployConfig:
        layered = {**collection_defaults(), **self.paths()}
        return build_config(layered, {"provider": "minikube", **flags})

    def target(self, config: DeployConfig, provider: Provider) -> Target:
        return Target(config, self.runner, provider, TOOLS, self.console)

    def paths(self) -> dict[str, Any]:
        p = self.project
        return {
            "chart": str(p / "chart"),
            "manifests_dir": str(p / "k8s"),
            "values_files": [str(p / "chart" / "values-dev.yaml")],
            "env_file": str(p / ".env"),
            "report_json": str(p / "report.json"),
        }

    def everything_shown(self) -> str:
        return "\n".join([*self.printed, self.out.getvalue()])


def _no_engine(runner: Runner) -> str:
    raise RuntimeError("no engine in unit tests")


def write_project(root: Path) -> Path:
    chart = root / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: todo-app\nversion: 0.1.0\n")
    (chart / "values-dev.yaml").write_text("environment: dev\n")
    # The component manifest and namePrefix: what the suite reads of the chart itself.
    for name in ("values.yaml", "components.yaml"):
        (chart / name).write_text((CHART / name).read_text())
    k8s = root / "k8s"
    k8s.mkdir()
    for path in (FIXTURES / "k8s").glob("*.yaml"):
        (k8s / path.name).write_text(path.read_text())
    return root


@dataclass
class FakeHostProvider:
    """Stands in for the host provider: its own engine, traefik ingress, context todo-host."""

    name: str = "host"
    kube_context: str = "todo-host"
    dry_run_safe: bool = False
    events: list[str] = field(default_factory=list)
    facts: ClusterFacts = field(default_factory=lambda: ClusterFacts(ingress_class="traefik"))

    def preflight(self) -> list[str]:
        self.events.append("preflight")
        return []

    def planned(self) -> ClusterFacts:
        return self.facts

    def up(self) -> ClusterFacts:
        self.events.append("up")
        return self.planned()

    def down(self, delete: bool = False) -> None:
        self.events.append(f"down delete={delete}")

    def docker_env(self) -> dict[str, str]:
        self.events.append("docker_env")
        return {"DOCKER_HOST": "unix:///var/run/docker.sock"}

    def load_images(self, refs: list[str]) -> None:
        self.events.append(f"load {len(refs)}")

    def ingress(self, host: str) -> IngressAccess:
        return IngressAccess("http://127.0.0.1:8080", host, f"127.0.0.1 {host}")

    def status(self) -> ClusterStatus:
        return ClusterStatus(True, {"apiserver": "ok"})
