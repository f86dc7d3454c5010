"""The deploy and teardown flows: plain functions over one Target."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from todo_deploy.base.paths import REPO_ROOT
from todo_deploy.base.run import CommandError, Runner
from todo_deploy.providers.base import ClusterFacts, IngressAccess
from todo_deploy.steps import evidence, install, secrets, volumes
from todo_deploy.steps.live import RolloutProgress, Timings
from todo_deploy.steps.lock import ReleaseLock
from todo_deploy.steps.preflight import preflight
from todo_deploy.steps.report import DeployReport, StepTimer
from todo_deploy.steps.target import Target
from todo_deploy.steps.verify import helm_test, http_get, verify

BuildImages = Callable[..., Mapping[str, Any]]  # todo_deploy.steps.images.build_images


def _build_images(
    names: list[str],
    *,
    docker_env: dict[str, str],
    runner: Runner,
    repositories: Mapping[str, str] | None = None,
) -> Mapping:
    from todo_deploy.steps.images import build_images

    return build_images(
        names, docker_env=docker_env, runner=runner, parallel=True, repositories=repositories
    )


def _plan_images(names: list[str], *, docker_env: dict[str, str], runner: Runner) -> list[str]:
    from todo_deploy.steps.images import Builder, docker_cli

    return Builder(docker_cli(runner, docker_env)).plan(names)


@dataclass
class Hooks:
    """What a test swaps: image builds, HTTP checks and host facts."""

    build_images: BuildImages = _build_images
    plan_images: Callable[..., list[str]] = _plan_images
    http_get: Callable[[str, str], int] = http_get
    preflight: dict[str, Any] = field(default_factory=dict)  # extra preflight() keywords


def release_lock(
    target: Target, task: str, *, make_namespace: bool = True, deletes_namespace: bool = False
) -> ReleaseLock:
    """The release's lock for `task`: a second run waits (timeouts.lock) or refuses (0)."""
    config = target.config
    return ReleaseLock(
        target.kube, config.release, task, target.console.print,
        wait_seconds=config.timeouts.lock, make_namespace=make_namespace,
        deletes_namespace=deletes_namespace,
    )  # fmt: skip


def deploy(
    target: Target,
    *,
    openai: bool = False,
    hooks: Hooks | None = None,
    report: DeployReport | None = None,
    locked: bool = False,
) -> DeployReport:
    """Run every step, timed into `report` (pass one to keep the timings when a step fails).

    The release's lock is held from the images on (`locked`: the caller holds it already).
    """
    config, provider, runner = target.config, target.provider, target.runner
    hooks = hooks or Hooks()
    report = report or DeployReport(config.budgets.deploy_seconds)
    timings = None if runner.dry_run else Timings.load()
    timer = StepTimer(report, target.console, runner, timings, scope=provider.name)
    with timer.step("preflight"):
        found = preflight(target, openai=openai, **hooks.preflight)
        for line in found:
            target.console.print(f"  {line}")
    with timer.step("cluster up"):
        up = may_run(target, "up: start the cluster and wait for its ingress")
        cluster = provider.up() if up else provider.planned()
        report.notes.extend(cluster.notes)  # e.g. a CNI that enforces no NetworkPolicy
    with timer.step("images"):
        refs = _images(target, hooks)
    lock = contextlib.nullcontext() if locked else release_lock(target, "deploy").held()
    with lock:
        with timer.step("secrets"):
            app_secrets = _secrets(target, openai)
            sources = ", ".join(f"{k} from {v}" for k, v in app_secrets.sources.items())
            target.console.print(f"  {sources}")
        with timer.step("release", progress=RolloutProgress(target.kube)):
            unchanged = _release(target, refs, cluster, app_secrets)
        access = provider.ingress(config.ingress_host)
        if not cluster.has_ingress:
            access = dataclasses.replace(access, reachable=False)
        if runner.dry_run:
            runner.printer(
                "[dry-run] verify: workloads ready, then GET /health through the ingress"
            )
        else:
            with timer.step("verify"):
                # The chart's test runs once per revision: an unchanged one passed it already.
                tested = unchanged is not None and install.tested(unchanged)
                test = None
                if config.method == "helm" and not tested:
                    test = functools.partial(helm_test, target.helm, config.release)
                verified = verify(target, access, get=hooks.http_get, alongside=test)
                if verified.via == "ingress":  # a verify's own port-forward is gone by now
                    report.urls["health"] = verified.health_url
    _describe_access(report, access)
    return report


def _secrets(target: Target, openai: bool) -> secrets.AppSecrets:
    kube, config = target.kube, target.config
    secret = secrets.read_secret(kube, target.secret_name)
    existing = secrets.values_of(secret)
    kept_file = secrets.kept_path(target.provider.kube_context, config.namespace)
    kept = secrets.read_kept(kept_file)
    kube.runner.add_secrets(kept.values())
    app_secrets = secrets.collect(
        existing,
        env_file=config.env_file,
        kept=kept,
        require_openai=openai,
        in_cluster_url=target.catalogue.database_url,
    )
    if not secrets.is_current(secret, app_secrets.values):
        # The release's lock made the namespace (its lease lives there); a dry run took none.
        made = not kube.runner.dry_run
        secrets.apply(kube, target.secret_name, app_secrets, namespace_exists=made)
    if kept and not kube.runner.dry_run:
        kept_file.unlink()  # the cluster's Secret holds them again
    return app_secrets


def _describe_access(report: DeployReport, access: IngressAccess) -> None:
    report.next_commands = ["invoke status", "invoke logs", "invoke doctor"]
    if not access.reachable:  # no ingress controller: the report's note says how to open it
        report.next_commands.insert(0, "invoke port-forward -c frontend")
        return
    report.urls["app"] = f"http://{access.host}/"
    report.hosts_line = access.hosts_line


def build_and_load(target: Target, hooks: Hooks, names: list[str]) -> dict[str, str]:
    """The images step for some images only (invoke watch); their refs as the chart gets them."""
    return _images(target, hooks, names)


def may_run(target: Target, what: str) -> bool:
    """In dry-run, only providers that route every change through the Runner may run.

    Others (e.g. one writing certificates itself) are described instead, so nothing changes.
    """
    if not target.runner.dry_run or target.provider.dry_run_safe:
        return True
    target.runner.printer(f"[dry-run] provider {target.provider.name}: {what}")
    return False


def _images(target: Target, hooks: Hooks, names: list[str] | None = None) -> dict[str, str]:
    """Build (or reuse) the images `names` (default: all), load them where the cluster sees."""
    config, provider, runner = target.config, target.provider, target.runner
    names = names or target.catalogue.names()
    docker_env = provider.docker_env()
    if runner.dry_run:
        where = runner.describe([], docker_env).strip() or "the host's engine"
        runner.printer(f"[dry-run] build images {' '.join(names)} with {where}:")
        for line in hooks.plan_images(names, docker_env=docker_env, runner=runner):
            runner.printer(f"[dry-run]   {line}")
        refs = {name: f"{target.catalogue[name].repository}:CONTENT-TAG" for name in names}
    else:
        # Each image under the repository the release will name (a values file may rename it).
        repositories = {name: target.catalogue[name].repository for name in names}
        built = hooks.build_images(
            names, docker_env=docker_env, runner=runner, repositories=repositories
        )
        refs = {name: image.ref for name, image in built.items()}
        for image in built.values():
            state = "reused" if image.reused else f"built in {image.seconds:.0f} s"
            if getattr(image, "base_absent", False):
                state += " (built from these sources before: its base image is not needed)"
            target.console.print(f"  {image.ref} {image.size_bytes / 1e6:.0f} MB {state}")
    if config.image_tag_policy == "git":
        refs = _git_tags(refs, runner, docker_env)
    if may_run(target, f"load images {' '.join(refs.values())}"):
        provider.load_images(list(refs.values()))
    if config.registry:
        refs = {n: f"{config.registry.rstrip('/')}/{ref}" for n, ref in refs.items()}
    return refs


def _git_tags(refs: dict[str, str], runner: Runner, docker_env: dict[str, str]) -> dict[str, str]:
    head = ["git", "rev-parse", "--short=12", "HEAD"]
    sha = runner.run(head, step="git tag", cwd=REPO_ROOT, mutating=False)
    tag = sha.stdout.strip() or "GIT-SHA"
    tagged = {}
    for name, ref in refs.items():
        tagged[name] = f"{ref.rsplit(':', 1)[0]}:{tag}"
        runner.run(["docker", "tag", ref, tagged[name]], step="tag image", env=docker_env)
    return tagged


def _release(
    target: Target, refs: dict[str, str], cluster: ClusterFacts, app_secrets: secrets.AppSecrets
) -> dict[str, Any] | None:
    """Install or upgrade: None, or the status of the revision already deployed exactly so."""
    external_database, digest = app_secrets.external_database, app_secrets.digest()
    if external_database:
        refs = {n: r for n, r in refs.items() if n != target.catalogue.database}
    # The watch keeps the failing pods' state and output: a rollback deletes them.
    with evidence.Watch(target.kube) as watch:
        try:
            if target.config.method == "helm":
                return install.helm_release(target, refs, cluster, external_database, digest)
            install.kubectl_release(target, refs, cluster, digest)
            return None
        except CommandError as exc:
            raise watch.explain(exc, lambda: _outcome(target)) from None


def _outcome(target: Target) -> str:
    if target.config.method == "helm":
        return install.rollback_outcome(target.helm, target.config.release)
    return "not rolled back (--method kubectl): the new pods stay for `invoke doctor`"


@dataclass(frozen=True)
class TeardownOptions:
    purge_data: bool = False
    cluster: bool = False
    delete_cluster: bool = False
    images: bool = False


def teardown(target: Target, *, options: TeardownOptions) -> None:
    """Remove the release; every step tolerates an absent target, so a second run is a no-op.

    The namespace's deletion starts first, once the data is kept: its controller waits 5 s
    before it deletes anything (hard-coded, for HA API servers), and the release's uninstall
    runs inside that wait instead of before it.
    """
    provider, console = target.provider, target.console
    if provider.status().running:
        # The namespace goes, and the lease in it: nothing is left to release.
        lock = release_lock(target, "teardown", make_namespace=False, deletes_namespace=True)
        with lock.held():
            kept_file = secrets.kept_path(provider.kube_context, target.config.namespace)
            claims, kept = _keep_data(target, kept_file, options.purge_data)
            _delete_namespace(target, claims)
            _uninstall(target)
            _namespace_gone(target)
            volumes.reserve(target.kube, kept)
    else:
        console.print("cluster not running: nothing deployed to remove")
    if options.images:
        _remove_images(target)
    if (options.cluster or options.delete_cluster) and may_run(
        target, f"down (delete={options.delete_cluster})"
    ):
        provider.down(delete=options.delete_cluster)


def _uninstall(target: Target) -> None:
    """Delete the release's objects, then end its pods at once: with the release gone no
    traffic is left to drain, and the namespace's deletion waits for every pod."""
    config, kube, helm = target.config, target.kube, target.helm
    timeout = f"{config.timeouts.teardown}s"
    if config.method == "kubectl":
        docs = [d for d in install.load_manifests(config.manifests_dir) if d["kind"] != "Namespace"]
        listing = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
        delete = ("delete", "-f", "-", "--ignore-not-found", "--wait=false")
        kube.run(*delete, step="kubectl delete", stdin=listing)
    else:
        installed = helm.run(
            "status", config.release, step="helm status", check=False, mutating=False
        )
        if not installed.ok and not target.runner.dry_run:
            target.console.print(f"release {config.release} is not installed")
            return
        helm.run(
            "uninstall", config.release, "--timeout", timeout,
            step="helm uninstall", timeout=config.timeouts.teardown + 60,
        )  # fmt: skip
    _end_app_pods(target)


def _end_app_pods(target: Target) -> None:
    """The app's pods go at once, without their preStop drain; the database's shuts down as
    always. The namespace's deletion then finds no app pod left to wait for (its controller
    would otherwise come back only seconds after the last one went)."""
    kube, release, database = target.kube, target.config.release, target.catalogue.database
    app = f"app.kubernetes.io/instance={release},app.kubernetes.io/component!={database}"
    kube.run(
        "delete", "pods", "-l", app, "--grace-period=0", "--force", "--wait=false",
        "--ignore-not-found", step="end the app's pods", check=False,
    )  # fmt: skip


def _keep_data(target: Target, kept_file: Path, purge: bool) -> tuple[list[str], list[str]]:
    """Before the namespace goes: keep the database's volume and credentials, or (purge) let
    them go. Returns the claims, and the volumes to pre-bind to them once the namespace is gone."""
    kube, console = target.kube, target.console
    claims = (kube.get_json("pvc", step="database volumes") or {}).get("items", [])
    claimed = [c["metadata"]["name"] for c in claims]
    if purge:
        names = claimed + volumes.let_go(kube)
        if names:
            console.print(f"--purge-data: deleting database volume(s) {', '.join(names)}")
        if not kube.runner.dry_run:
            kept_file.unlink(missing_ok=True)
        return claimed, []
    if not claims:
        return [], []
    values = secrets.read_cluster_secret(kube, target.secret_name)
    kept = volumes.keep(kube)
    if kube.runner.dry_run:
        kube.runner.printer(f"[dry-run] save the database's credentials to {kept_file}")
    else:
        secrets.save_kept(kept_file, values)
    console.print(
        f"keeping database volume(s) {', '.join(claimed)} (as {', '.join(kept)}) and the "
        f"credentials its data needs ({kept_file}); `invoke teardown --purge-data` deletes them"
    )
    return claimed, kept


def _delete_namespace(target: Target, claims: list[str]) -> None:
    """Start the namespace's deletion, and its claims' now: a claim keeps its protection
    finalizer until the database's pod is gone, and one the controller's first pass still
    finds costs the teardown a second pass, seconds later."""
    kube = target.kube
    kube.run(
        "delete", "namespace", target.config.namespace, "--ignore-not-found", "--wait=false",
        step="delete namespace", namespaced=False,
    )  # fmt: skip
    if claims:
        kube.run(
            "delete", "pvc", *claims, "--ignore-not-found", "--wait=false",
            step="delete the database's claims",
        )  # fmt: skip


def _namespace_gone(target: Target) -> None:
    timeout = target.config.timeouts.teardown
    target.kube.run(
        "wait", "--for=delete", f"namespace/{target.config.namespace}", f"--timeout={timeout}s",
        step="namespace gone", namespaced=False, timeout=timeout + 30,
    )  # fmt: skip


def _remove_images(target: Target) -> None:
    runner, console = target.runner, target.console
    try:
        docker_env = target.provider.docker_env()
    except CommandError:  # e.g. minikube stopped: its engine, and the images in it, are down
        console.print(
            "the cluster's Docker engine is not running: images not removed "
            "(`--delete` removes the cluster with its images)"
        )
        return
    filters = [f"--filter=reference={c.repository}" for c in target.catalogue.components.values()]
    listing = runner.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", *filters],
        step="list images",
        env=docker_env,
        mutating=False,
        check=False,
    )
    refs = listing.stdout.split()
    if not refs:
        console.print("no built images to remove")
        return
    runner.run(["docker", "image", "rm", *refs], step="remove images", env=docker_env)
