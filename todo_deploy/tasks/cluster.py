"""`invoke cluster.up|down|status`: the cluster alone, without the app."""

from __future__ import annotations

from invoke import Context, task

from todo_deploy.flow import may_run
from todo_deploy.tasks.common import RUN_HELP, failures, session

PROVIDER_HELP = "cluster provider: auto, minikube, kind, existing or host"


@task(help={"provider": PROVIDER_HELP, **RUN_HELP})
def up(
    c: Context, dry_run: bool = False, verbose: bool = False, provider: str | None = None
) -> None:
    """Start the cluster and its ingress controller (idempotent)."""
    s = session(c, {"provider": provider}, dry_run=dry_run, verbose=verbose)
    with failures():
        if not may_run(s.provider, s.runner, "up: start the cluster and wait for its ingress"):
            return
        s.provider.up()
    s.console.print(f"cluster {s.provider.name} up (context {s.provider.kube_context})")


@task(help={"provider": PROVIDER_HELP, "delete": "delete the cluster and its state", **RUN_HELP})
def down(
    c: Context,
    dry_run: bool = False,
    verbose: bool = False,
    provider: str | None = None,
    delete: bool = False,
) -> None:
    """Stop (or --delete) the cluster; nothing running is not an error."""
    s = session(c, {"provider": provider}, dry_run=dry_run, verbose=verbose)
    with failures():
        if may_run(s.provider, s.runner, f"down (delete={delete})"):
            s.provider.down(delete=delete)


@task(help={"provider": PROVIDER_HELP})
def status(c: Context, provider: str | None = None) -> None:
    """Say whether the cluster runs and how each of its parts is."""
    s = session(c, {"provider": provider})
    with failures():
        state = s.provider.status()
    s.console.print(f"{s.provider.name}: {'running' if state.running else 'not running'}")
    for part, health in state.components.items():
        s.console.print(f"  {part}: {health}")
