"""`nox -s bench`: the suite against Skaffold on the same cluster, chart and Dockerfiles.

Scenarios (issue 15): a no-op redeploy (median of 3), a one-service code change, a deploy from
an empty namespace with images cached, and the inner loop: a saved back-end file to new pods
serving through the ingress (`invoke watch` against `skaffold dev`). A plain helm-4 upgrade is
the floor of the no-op. The table goes to build/bench.md. Run it on a machine you may deploy to
(it tears the app's namespace down once); the app is left deployed by the suite.

    python -m tests.support.bench [--provider P] [--scenario noop|change|empty|watch ...]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from tests.support.bench_tools import BenchTools, ensure_tools
from tests.support.podwatch import PodWatch, ready_images
from tests.support.signals import default_sigint
from todo_deploy.base import catalogue
from todo_deploy.base.config import DeployConfig
from todo_deploy.base.kube import Kube, wait_until
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.providers import get_provider
from todo_deploy.steps.baseimages import ensure_base_images
from todo_deploy.steps.images import CA_BUNDLE, SPECS, docker_cli

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "bench"
ROUNDS = 3
SERVING_TIMEOUT = 300
NOOP = "no-op redeploy (median of 3)"
CHANGE = "one-service code change"
EMPTY = "from an empty namespace, images cached"
WATCH = "watch: back-end save to serving"
TEARDOWN = "teardown to the namespace gone (Skaffold: its release only)"
TEARDOWN_BUDGET = 8.0
SKAFFOLD_GLOBAL = {
    "global": {"collect-metrics": False, "update-check": False, "survey": {"disable-prompt": True}},
    "kubeContexts": [],
}


@dataclass
class Bench:
    provider: str
    tools: BenchTools
    kube: Kube
    helm4: str
    ingress_url: str
    ingress_host: str
    ingress_class: str
    docker_env: dict[str, str]
    rows: dict[str, dict[str, float | None]] = field(default_factory=dict)

    # --- the three ways to deploy -------------------------------------------------------

    def invoke(self, *args: str) -> float:
        argv = [sys.executable, "-m", "invoke", *args, "--provider", self.provider]
        # As a user runs it: Python keeps its bytecode (CI's environment turns that off).
        return _timed(argv, {}, f"invoke {' '.join(args)}", drop=("PYTHONDONTWRITEBYTECODE",))

    def skaffold_argv(self, *args: str) -> list[str]:
        context = ["--kube-context", self.kube.context] if self.kube.context else []
        # Its artifact cache in build/ too, not the user's home.
        cache = ["--cache-file", str(BUILD / "skaffold-cache")] if args[0] != "delete" else []
        return [str(self.tools.skaffold), *args, "--filename", str(BUILD / "skaffold.yaml"),
                "--config", str(BUILD / "skaffold-global.yaml"), *cache, *context]  # fmt: skip

    def skaffold_env(self) -> dict[str, str]:
        # The engine the cluster's nodes use (minikube's), helm 3, the buildx plugin.
        return {**self.docker_env, **self.tools.env(), "SKAFFOLD_UPDATE_CHECK": "false"}

    def skaffold(self, *args: str) -> float:
        return _timed(self.skaffold_argv(*args), self.skaffold_env(), f"skaffold {args[0]}")

    def helm_noop(self) -> float:
        argv = [self.helm4, "upgrade", "todo", str(ROOT / "helm" / "todo-app"), "--namespace",
                self.kube.namespace, "--reuse-values", "--wait", "--timeout", "300s",
                *(["--kube-context", self.kube.context] if self.kube.context else [])]  # fmt: skip
        return _timed(argv, {}, "helm upgrade (no-op)")

    # --- scenarios -----------------------------------------------------------------------

    def record(self, scenario: str, tool: str, seconds: float | None) -> None:
        self.rows.setdefault(scenario, {})[tool] = seconds
        shown = "-" if seconds is None else f"{seconds:.2f} s"
        print(f"bench: {scenario} / {tool}: {shown}", flush=True)

    def noop(self) -> None:
        self.invoke("deploy")  # converge first: the timed runs change nothing
        self.record(
            NOOP,
            "invoke deploy",
            statistics.median(self.invoke("deploy") for _ in range(ROUNDS)),
        )
        self.record(
            NOOP,
            "plain helm-4 upgrade",
            statistics.median(self.helm_noop() for _ in range(ROUNDS)),
        )
        self.skaffold("run")  # its own image tags, built once
        self.record(
            NOOP,
            "skaffold run",
            statistics.median(self.skaffold("run") for _ in range(ROUNDS)),
        )

    def one_service_change(self) -> None:
        """Each tool from its own deployed state: it sees one image change, not the other's tags."""
        marker = ROOT / "mcp" / "todo_mcp" / "bench_change.py"
        try:
            self.invoke("deploy")
            marker.write_text(f"STAMP = {time.time()!r}\n")
            self.record(CHANGE, "invoke deploy", self.invoke("deploy"))
            self.skaffold("run")
            marker.write_text(f"STAMP = {time.time()!r}\n")
            self.record(CHANGE, "skaffold run", self.skaffold("run"))
        finally:
            marker.unlink(missing_ok=True)

    def from_empty(self) -> None:
        self.invoke("deploy")  # something to tear down
        self.record(TEARDOWN, "invoke teardown", self.invoke("teardown"))
        self.record(EMPTY, "invoke deploy", self.invoke("deploy"))
        self.skaffold("run")
        self.record(TEARDOWN, "skaffold delete", self.skaffold("delete"))
        # Skaffold deploys the chart only: the Secret comes from the suite, untimed.
        secret = (
            self.kube.get_json(
                "secret", catalogue.default().object_name("secrets"), step="bench secret"
            )
            or {}
        )
        self.invoke("teardown")
        self.kube.run(
            "create", "namespace", self.kube.namespace, step="namespace", namespaced=False
        )
        self.kube.run("apply", "-f", "-", step="secret", stdin=json.dumps(_bare(secret)))
        self.record(EMPTY, "skaffold run", self.skaffold("run"))

    def save_to_serving(self) -> None:
        self.invoke("deploy")
        self.record(WATCH, "invoke watch",
                    self._loop([sys.executable, "-m", "invoke", "watch", "--no-logs",
                                "--provider", self.provider], {}, "watching "))  # fmt: skip
        self.record(
            WATCH,
            "skaffold dev",
            self._loop(
                self.skaffold_argv("dev", "--port-forward=off"),
                self.skaffold_env(),
                "Watching for changes",
            ),
        )
        self.invoke("deploy")  # leave the suite's release as it deploys it

    def _loop(self, argv: list[str], env: dict[str, str], ready: str) -> float | None:
        change = ROOT / "backend" / "todo_backend" / "bench_watch_change.py"
        lines: list[str] = []
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=default_sigint,
            text=True,
            env={**os.environ, **env, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True).start()
        try:
            if not wait_until(lambda: any(ready in x for x in lines), timeout=900, interval=0.5):
                print("".join(lines[-40:]))
                return None
            self._settle()  # the deploys before left pods terminating: not on the clock
            with PodWatch(self.kube, "app.kubernetes.io/component=backend") as pods:
                before = self._backend_images()
                pods.wait_for(lambda: pods.ready_images() == before, timeout=30)
                saved = time.monotonic()
                change.write_text(f"STAMP = {saved!r}\n")
                serving = self._serving(pods, before)
                if not pods.wait_for(serving, timeout=SERVING_TIMEOUT):
                    return None
                return time.monotonic() - saved
        finally:
            change.unlink(missing_ok=True)
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()

    def _settle(self) -> None:
        """Until no pod of the namespace is terminating (a preStop hook holds each for 5 s)."""

        def settled() -> bool:
            pods = self.kube.get_json("pods", step="pods") or {}
            return not [p for p in pods.get("items", []) if p["metadata"].get("deletionTimestamp")]

        wait_until(settled, timeout=120, interval=0.5)
        time.sleep(1)

    def _backend_images(self) -> set[str]:
        pods = self.kube.get_json(
            "pods", "-l", "app.kubernetes.io/component=backend", step="back-end pods"
        )
        return ready_images((pods or {}).get("items", []))

    def _serving(self, pods: PodWatch, before: set[str]) -> Callable[[], bool]:
        def check() -> bool:
            now = pods.ready_images()
            if not now or not now.isdisjoint(before):
                return False
            try:
                answer = requests.get(
                    f"{self.ingress_url}/health", timeout=2, headers={"Host": self.ingress_host}
                )
            except requests.RequestException:
                return False
            return answer.status_code == 200

        return check


def _bare(secret: dict) -> dict:
    meta = secret.get("metadata", {})
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": secret.get("type", "Opaque"),
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
        "data": secret.get("data", {}),
    }


def _timed(argv: list[str], env: dict[str, str], what: str, drop: tuple[str, ...] = ()) -> float:
    started = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=ROOT,
        env={k: v for k, v in {**os.environ, **env}.items() if k not in drop},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return seconds


def skaffold_config(bases: dict[str, str], ingress_class: str, host: str) -> dict:
    """Skaffold's view of the same images (Dockerfiles, contexts, bases) and the same chart."""
    chart = catalogue.default()
    artifacts, templates = [], {}
    for name, spec in SPECS.items():
        # Skaffold reads the Dockerfile's path relative to the artifact's context, and the
        # context relative to its config file (in build/): absolute paths say it once.
        dockerfile = os.path.relpath(spec.dockerfile, spec.context)
        docker: dict = {
            "dockerfile": dockerfile,
            "buildArgs": {arg: bases[arg] for arg in spec.base_args},
        }
        if CA_BUNDLE.exists():
            docker["secrets"] = [{"id": "ca", "src": str(CA_BUNDLE)}]
        image = chart[name].repository
        artifacts.append({"image": image, "context": str(ROOT / spec.context), "docker": docker})
        key, var = chart[name].image_key, image.replace("-", "_")
        templates[f"images.{key}.repository"] = f"{{{{.IMAGE_REPO_{var}}}}}"
        templates[f"images.{key}.tag"] = f"{{{{.IMAGE_TAG_{var}}}}}"
    release = {
        "name": "todo",
        "chartPath": str(ROOT / "helm" / "todo-app"),
        "namespace": DeployConfig().namespace,
        "createNamespace": True,
        "valuesFiles": [str(ROOT / "helm" / "todo-app" / "values-dev.yaml")],
        "setValueTemplates": templates,
        "setValues": {
            "existingSecret": chart.object_name("secrets"),
            "ingress.ingressClassName": ingress_class,
            "ingress.host": host,
        },
    }
    return {
        "apiVersion": "skaffold/v4beta11",
        "kind": "Config",
        "build": {"local": {"push": False, "useBuildkit": True}, "artifacts": artifacts},
        "deploy": {"helm": {"releases": [release]}},
    }


OURS = ("invoke deploy", "invoke watch", "invoke teardown")
THEIRS = ("skaffold run", "skaffold dev", "skaffold delete")
FLOOR = "plain helm-4 upgrade"


def markdown(rows: dict[str, dict[str, float | None]]) -> str:
    used = [t for t in (*OURS, *THEIRS, FLOOR) if any(t in r for r in rows.values())]
    lines = [
        "| scenario | " + " | ".join(used) + " | skaffold / suite | suite / helm floor |",
        "|---|" + "---|" * (len(used) + 2),
    ]
    for scenario, row in rows.items():
        cells = ["-" if row.get(t) is None else f"{row[t]:.2f} s" for t in used]
        ours, theirs, floor = _ours(row), _theirs(row), row.get(FLOOR)
        comparable = scenario != TEARDOWN  # Skaffold's delete leaves the namespace standing
        ahead = f"{theirs / ours:.1f}x" if ours and theirs and comparable else "-"
        above = f"{ours / floor:.1f}x" if ours and floor else "-"
        lines.append(f"| {scenario} | " + " | ".join(cells) + f" | {ahead} | {above} |")
    return "\n".join(lines) + "\n"


def _ours(row: dict[str, float | None]) -> float | None:
    return next((row[t] for t in OURS if row.get(t)), None)


def _theirs(row: dict[str, float | None]) -> float | None:
    return next((row[t] for t in THEIRS if row.get(t)), None)


def over_budget(rows: dict[str, dict[str, float | None]]) -> list[str]:
    """Issue 23's targets, each a ratio to a figure of the same run (teardown: seconds)."""

    def figure(scenario: str, pick: Callable[[dict[str, float | None]], float | None]) -> float:
        return pick(rows.get(scenario, {})) or 0.0

    floor = figure(NOOP, lambda row: row.get(FLOOR))
    noop, change, watch = figure(NOOP, _ours), figure(CHANGE, _ours), figure(WATCH, _ours)
    empty, skaffold_empty = figure(EMPTY, _ours), figure(EMPTY, _theirs)
    teardown = figure(TEARDOWN, _ours)
    checks = [
        (not (noop and floor) or noop <= 3 * floor, "no-op: over 3x the helm floor"),
        (not (change and watch) or change <= 2 * watch, "one-service change: over 2x the watch"),
        (not (empty and skaffold_empty) or skaffold_empty >= 1.3 * empty,
         "from an empty namespace: not 1.3x ahead of Skaffold"),
        (teardown <= TEARDOWN_BUDGET, f"teardown: over {TEARDOWN_BUDGET:.0f} s"),
    ]  # fmt: skip
    for scenario in rows:
        ours, theirs = figure(scenario, _ours), figure(scenario, _theirs)
        if scenario != TEARDOWN and ours and theirs:
            checks.append((ours < theirs, f"{scenario}: behind Skaffold"))
    return [what for ok, what in checks if not ok]


SCENARIOS: dict[str, Callable[[Bench], None]] = {
    "noop": Bench.noop,
    "change": Bench.one_service_change,
    "empty": Bench.from_empty,
    "watch": Bench.save_to_serving,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", default=os.environ.get("E2E_PROVIDER", "auto"))
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="run only this scenario (repeatable); default: all",
    )
    args = parser.parse_args()
    provider_name, scenarios = args.provider, args.scenario or list(SCENARIOS)
    runner = Runner(echo=True)
    tools = ensure_tools(runner)
    config = DeployConfig(provider=provider_name)
    binaries = Tools(runner)
    provider = get_provider(config, runner, binaries)
    facts = provider.up()
    access = provider.ingress(config.ingress_host)
    kube = Kube(runner, str(binaries.kubectl), provider.kube_context or None, config.namespace)
    bases = ensure_base_images(docker_cli(runner, provider.docker_env()))
    BUILD.mkdir(parents=True, exist_ok=True)
    config_text = yaml.safe_dump(skaffold_config(bases, facts.ingress_class, access.host))
    (BUILD / "skaffold.yaml").write_text(config_text)
    # Skaffold sends usage metrics and checks for updates by default: nothing may leave here.
    (BUILD / "skaffold-global.yaml").write_text(yaml.safe_dump(SKAFFOLD_GLOBAL))
    bench = Bench(
        provider.name,
        tools,
        kube,
        str(binaries.helm),
        access.url,
        access.host,
        facts.ingress_class,
        provider.docker_env(),
    )
    try:
        for scenario in scenarios:
            SCENARIOS[scenario](bench)
    finally:
        table = markdown(bench.rows)
        (ROOT / "build" / "bench.md").write_text(table)
        print(table)
    missed = over_budget(bench.rows)
    for what in missed:
        print(f"bench: over budget: {what}", file=sys.stderr)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
