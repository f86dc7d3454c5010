"""The deploy and teardown flows: plain functions over config, provider and runner."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from todo_deploy import evidence, release, secrets, volumes
from todo_deploy.config import DeployConfig
from todo_deploy.kube import Kube
from todo_deploy.preflight import preflight
from todo_deploy.providers.base import IngressAccess, Provider
from todo_deploy.report import DeployReport, StepTimer
from todo_deploy.run import CommandError, Runner
from todo_deploy.tools import Tools
from todo_deploy.verify import http_get, verify

IMAGE_NAMES = ("frontend", "backend", "mcp", "postgres")
BuildImages = Callable[..., Mapping[str, Any]]  # todo_deploy.images.build_images


def _build_images(names: list[str], *, docker_env: dict[str, str], runner: Runner) -> Mapping:
    from todo_deploy.images import build_images

    return build_images(names, docker_env=docker_env, runner=runner, parallel=True)


@dataclass
class Hooks:
    """What a test swaps: image builds, HTTP checks and host facts."""

    build_images: BuildImages = _build_images
    http_get: Callable[[str, str], int] = http_get
    preflight: dict[str, Any] = field(default_factory=dict)  # extra preflight() keywords


def app_kube(config: DeployConfig, provider: Provider, runner: Runner, tools: Tools) -> Kube:
    return Kube(runner, tools.kubectl, provider.kube_context or None, config.namespace)


def deploy(
    config: DeployConfig,
    provider: Provider,
    runner: Runner,
    tools: Tools,
    *,
    console: Console,
    openai: bool = False,
    hooks: Hooks | None = None,
    report: DeployReport | None = None,
) -> DeployReport:
    """Run every step, timed into `report` (pass one to keep the timings when a step fails)."""
    hooks = hooks or Hooks()
    report = report or DeployReport(config.budgets.deploy_seconds)
    timer = StepTimer(report, console)
    with timer.step("preflight"):
        found = preflight(config, provider, runner, tools, openai=openai, **hooks.preflight)
        for line in found:
            console.print(f"  {line}")
    with timer.step("cluster up"):
        if may_run(provider, runner, "up: start the cluster and wait for its ingress"):
            provider.up()
    with timer.step("images"):
        refs = _images(config, provider, runner, hooks, console)
    kube = app_kube(config, provider, runner, tools)
    with timer.step("secrets"):
        app_secrets = _secrets(config, provider, kube, openai)
        console.print("  " + ", ".join(f"{k} from {v}" for k, v in app_secrets.sources.items()))
    with timer.step("release"):
        _release(config, provider, runner, tools, kube, refs, app_secrets.external_database)
    access = _for_host(provider.ingress(), config.ingress_host)
    if runner.dry_run:
        runner.printer("[dry-run] verify: workloads ready, then GET /health through the ingress")
    else:
        with timer.step("verify"):
            report.urls["health"] = verify(kube, access, get=hooks.http_get).health_url
    _describe_access(report, access)
    return report


def _secrets(
    config: DeployConfig, provider: Provider, kube: Kube, openai: bool
) -> secrets.AppSecrets:
    existing = secrets.read_cluster_secret(kube, config.secret_name)
    kept_file = secrets.kept_path(provider.kube_context, config.namespace)
    kept = secrets.read_kept(kept_file)
    kube.runner.add_secrets(kept.values())
    app_secrets = secrets.collect(
        existing, env_file=config.env_file, kept=kept, require_openai=openai
    )
    secrets.apply(kube, config.secret_name, app_secrets)
    if kept and not kube.runner.dry_run:
        kept_file.unlink()  # the cluster's Secret holds them again
    return app_secrets


def _for_host(access: IngressAccess, host: str) -> IngressAccess:
    """The provider knows where its ingress listens; the config names the app's host."""
    hosts_line = access.hosts_line.replace(access.host, host) if access.hosts_line else ""
    return IngressAccess(access.url, host, hosts_line)


def _describe_access(report: DeployReport, access: IngressAccess) -> None:
    report.urls["app"] = f"http://{access.host}/"
    report.hosts_line = access.hosts_line
    report.next_commands = ["invoke status", "invoke logs backend", "invoke doctor"]


def may_run(provider: Provider, runner: Runner, what: str) -> bool:
    """In dry-run, only providers that route every change through the Runner may run.

    Others (e.g. one writing certificates itself) are described instead, so nothing changes.
    """
    if not runner.dry_run or getattr(provider, "dry_run_safe", False):
        return True
    runner.printer(f"[dry-run] provider {provider.name}: {what}")
    return False


def _images(
    config: DeployConfig, provider: Provider, runner: Runner, hooks: Hooks, console: Console
) -> dict[str, str]:
    docker_env = provider.docker_env()
    if runner.dry_run:
        where = runner.describe([], docker_env).strip() or "the host's engine"
        runner.printer(f"[dry-run] build images {' '.join(IMAGE_NAMES)} with {where}")
        refs = {name: f"todo-{name}:CONTENT-TAG" for name in IMAGE_NAMES}
    else:
        built = hooks.build_images(list(IMAGE_NAMES), docker_env=docker_env, runner=runner)
        refs = {name: image.ref for name, image in built.items()}
        for image in built.values():
            state = "reused" if image.reused else f"built in {image.seconds:.0f} s"
            console.print(f"  {image.ref} {image.size_bytes / 1e6:.0f} MB {state}")
    if config.image_tag_policy == "git":
        refs = _git_tags(refs, runner, docker_env)
    if may_run(provider, runner, f"load images {' '.join(refs.values())}"):
        provider.load_images(list(refs.values()))
    if config.registry:
        refs = {n: f"{config.registry.rstrip('/')}/{ref}" for n, ref in refs.items()}
    return refs


def _git_tags(refs: dict[str, str], runner: Runner, docker_env: dict[str, str]) -> dict[str, str]:
    sha = runner.run(["git", "rev-parse", "--short=12", "HEAD"], step="git tag", mutating=False)
    tag = sha.stdout.strip() or "GIT-SHA"
    tagged = {}
    for name, ref in refs.items():
        tagged[name] = f"{ref.rsplit(':', 1)[0]}:{tag}"
        runner.run(["docker", "tag", ref, tagged[name]], step="tag image", env=docker_env)
    return tagged


def _release(
    config: DeployConfig,
    provider: Provider,
    runner: Runner,
    tools: Tools,
    kube: Kube,
    refs: dict[str, str],
    external_database: bool,
) -> None:
    if external_database:
        refs = {n: r for n, r in refs.items() if n != "postgres"}
    context = provider.kube_context or None
    # The watch keeps the failing pods' state and output: a rollback deletes them.
    with evidence.Watch(kube) as watch:
        try:
            if config.method == "helm":
                release.helm_release(
                    config, runner, tools.helm, context, refs, provider.ingress_class_name,
                    external_database,
                )  # fmt: skip
            else:
                release.kubectl_release(config, kube, refs, provider.ingress_class_name)
        except CommandError as exc:
            raise watch.explain(exc, lambda: _outcome(config, runner, tools, context)) from None


def _outcome(config: DeployConfig, runner: Runner, tools: Tools, context: str | None) -> str:
    if config.method == "helm":
        return release.rollback_outcome(config, runner, tools.helm, context)
    return "not rolled back (--method kubectl): the new pods stay for `invoke doctor`"


@dataclass(frozen=True)
class TeardownOptions:
    purge_data: bool = False
    cluster: bool = False
    delete_cluster: bool = False
    images: bool = False


def teardown(
    config: DeployConfig,
    provider: Provider,
    runner: Runner,
    tools: Tools,
    *,
    console: Console,
    options: TeardownOptions,
) -> None:
    """Remove the release; every step tolerates an absent target, so a second run is a no-op."""
    kube = app_kube(config, provider, runner, tools)
    if provider.status().running:
        _uninstall(config, provider, runner, tools, kube, console)
        kept_file = secrets.kept_path(provider.kube_context, config.namespace)
        _remove_namespace(config, kube, console, kept_file, options.purge_data)
    else:
        console.print("cluster not running: nothing deployed to remove")
    if options.images:
        _remove_images(provider, runner, console)
    if (options.cluster or options.delete_cluster) and may_run(
        provider, runner, f"down (delete={options.delete_cluster})"
    ):
        provider.down(delete=options.delete_cluster)


def _uninstall(
    config: DeployConfig,
    provider: Provider,
    runner: Runner,
    tools: Tools,
    kube: Kube,
    console: Console,
) -> None:
    timeout = f"{config.timeouts.teardown}s"
    if config.method == "kubectl":
        docs = [d for d in release.load_manifests(config.manifests_dir) if d["kind"] != "Namespace"]
        kube.run(
            "delete", "-f", "-", "--ignore-not-found", "--wait", f"--timeout={timeout}",
            step="kubectl delete", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                             "items": docs}),
        )  # fmt: skip
        return
    helm = [tools.helm, "--namespace", config.namespace]
    if provider.kube_context:
        helm += ["--kube-context", provider.kube_context]
    installed = runner.run(
        [*helm, "status", config.release], step="helm status", check=False, mutating=False
    )
    if not installed.ok and not runner.dry_run:
        console.print(f"release {config.release} is not installed")
        return
    runner.run(
        [*helm, "uninstall", config.release, "--wait", "--timeout", timeout],
        step="helm uninstall",
        timeout=config.timeouts.teardown + 60,
    )


def _remove_namespace(
    config: DeployConfig, kube: Kube, console: Console, kept_file: Path, purge: bool
) -> None:
    claims = (kube.get_json("pvc", step="database volumes") or {}).get("items", [])
    claimed = [c["metadata"]["name"] for c in claims]
    kept: list[str] = []
    if purge:
        names = claimed + volumes.release(kube)
        if names:
            console.print(f"--purge-data: deleting database volume(s) {', '.join(names)}")
        if not kube.runner.dry_run:
            kept_file.unlink(missing_ok=True)
    elif claims:
        values = secrets.read_cluster_secret(kube, config.secret_name)
        kept = volumes.keep(kube)
        if kube.runner.dry_run:
            kube.runner.printer(f"[dry-run] save the database's credentials to {kept_file}")
        else:
            secrets.save_kept(kept_file, values)
        console.print(
            f"keeping database volume(s) {', '.join(claimed)} (as {', '.join(kept)}) and the "
            f"credentials its data needs ({kept_file}); `invoke teardown --purge-data` deletes them"
        )
    kube.run(
        "delete", "namespace", config.namespace, "--ignore-not-found", "--wait=true",
        f"--timeout={config.timeouts.teardown}s", step="delete namespace", namespaced=False,
        timeout=config.timeouts.teardown + 30,
    )  # fmt: skip
    volumes.reserve(kube, kept)


def _remove_images(provider: Provider, runner: Runner, console: Console) -> None:
    try:
        docker_env = provider.docker_env()
    except CommandError:  # e.g. minikube stopped: its engine, and the images in it, are down
        console.print("the cluster's Docker engine is not running: images not removed "
                      "(`--delete` removes the cluster with its images)")  # fmt: skip
        return
    listing = runner.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
         *[f"--filter=reference=todo-{name}" for name in IMAGE_NAMES]],
        step="list images", env=docker_env, mutating=False, check=False,
    )  # fmt: skip
    refs = listing.stdout.split()
    if not refs:
        console.print("no built images to remove")
        return
    runner.run(["docker", "image", "rm", *refs], step="remove images", env=docker_env)
