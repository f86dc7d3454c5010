"""A fake command executor standing in for a cluster, plus a throwaway project layout.

The Runner's `execute` is swapped for `FakeExec`, which answers each argv from a table of rules
and records every call (argv, env, stdin), so tests assert the exact command chain.
"""

from __future__ import annotations

import io
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from todo_deploy.config import DeployConfig, build_config, collection_defaults
from todo_deploy.flow import Hooks
from todo_deploy.providers.base import Provider
from todo_deploy.run import Result, Runner
from todo_deploy.target import Target
from todo_deploy.tools import Tools

FIXTURES = Path(__file__).parent / "fixtures"
CHART = Path(__file__).resolve().parents[2] / "helm" / "todo-app"
TOOLS = Tools(helm="helm", kubectl="kubectl")
SECRET_ENV = ("BETTER_AUTH_SECRET", "MCP_API_TOKEN", "POSTGRES_PASSWORD", "DATABASE_URL",
              "OPENAI_API_KEY")  # fmt: skip


@dataclass
class Call:
    argv: tuple[str, ...]
    env: dict[str, str]
    stdin: str | None

    @property
    def line(self) -> str:
        return shlex.join(self.argv)


def _has_in_order(argv: Sequence[str], tokens: Sequence[str]) -> bool:
    it = iter(argv)
    return all(any(token == arg for arg in it) for token in tokens)


@dataclass
class FakeExec:
    rules: list[tuple[tuple[str, ...], Result]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def on(self, *tokens: str, rc: int = 0, stdout: Any = "", stderr: str = "") -> None:
        """Answer argv containing `tokens` in order; later rules win over earlier ones."""
        text = stdout if isinstance(stdout, str) else json.dumps(stdout)
        self.rules.insert(0, (tokens, Result(tokens, rc, text, stderr)))

    def __call__(self, argv, env, timeout, stdin) -> Result:
        self.calls.append(Call(tuple(argv), dict(env), stdin))
        for tokens, result in self.rules:
            if _has_in_order(argv, tokens):
                return Result(tuple(argv), result.returncode, result.stdout, result.stderr)
        return Result(tuple(argv), 0)

    @property
    def lines(self) -> list[str]:
        return [c.line for c in self.calls]


def ready_workloads() -> dict[str, Any]:
    def item(kind: str, name: str, replicas: int) -> dict[str, Any]:
        return {"kind": kind, "metadata": {"name": name}, "spec": {"replicas": replicas},
                "status": {"readyReplicas": replicas}}  # fmt: skip

    return {"items": [item("Deployment", "todo-backend", 2), item("Deployment", "todo-mcp", 1),
                      item("StatefulSet", "todo-postgres", 1)]}  # fmt: skip


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
    return fake  # fmt: skip


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

    def __call__(self, names, *, docker_env, runner):
        self.calls.append({"names": list(names), "docker_env": dict(docker_env)})
        return {n: FakeImage(n, f"todo-{n}:c0ffee{i}", f"c0ffee{i}") for i, n in enumerate(names)}


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
        return {"chart": str(p / "chart"), "manifests_dir": str(p / "k8s"),
                "values_files": [str(p / "chart" / "values-dev.yaml")],
                "env_file": str(p / ".env"), "report_json": str(p / "report.json")}  # fmt: skip

    def everything_shown(self) -> str:
        return "\n".join([*self.printed, self.out.getvalue()])


def _no_engine(runner: Runner) -> str:
    raise RuntimeError("no engine in unit tests")


def write_project(root: Path) -> Path:
    chart = root / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: todo-app\nversion: 0.1.0\n")
    (chart / "values-dev.yaml").write_text("environment: dev\n")
    # The component table and namePrefix: what the suite reads of the chart itself.
    (chart / "templates").mkdir()
    for name in ("values.yaml", "templates/_components.tpl"):
        (chart / name).write_text((CHART / name).read_text())
    k8s = root / "k8s"
    k8s.mkdir()
    for path in (FIXTURES / "k8s").glob("*.yaml"):
        (k8s / path.name).write_text(path.read_text())
    return root


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    # Values kept by a data-keeping teardown go to the user's state directory: here, tmp.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    fake = healthy_cluster(FakeExec())
    printed: list[str] = []
    out = io.StringIO()
    runner = Runner(execute=fake, printer=printed.append, base_env={"PATH": "/usr/bin"})
    console = Console(file=out, width=200, highlight=False)
    return Harness(fake, runner, printed, out, console, FakeBuilder(), write_project(tmp_path))
