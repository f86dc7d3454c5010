"""`invoke cluster.up|down|status`: the cluster alone, without the app."""

from __future__ import annotations

from invoke import Context

from todo_deploy.base.clusters import choices_help
from todo_deploy.tasks.common import RUN_HELP, failures, target, task

PROVIDER_HELP = f"cluster provider (default: invoke.yaml) - {choices_help()}"


@task(help={"provider": PROVIDER_HELP, **RUN_HELP})
def up(
    c: Context, dry_run: bool = False, verbose: bool = False, provider: str | None = None
) -> None:
    """Start the cluster and its ingress controller (idempotent)."""
    from todo_deploy.flow.lifecycle import may_run

    t = target(c, {"provider": provider}, dry_run=dry_run, verbose=verbose)
    with failures():
        if not may_run(t, "up: start the cluster and wait for its ingress"):
            return
        t.provider.up()
    t.console.print(f"cluster {t.provider.name} up (context {t.provider.kube_context})")


@task(help={"provider": PROVIDER_HELP, "delete": "delete the cluster and its state", **RUN_HELP})
def down(
    c: Context,
    dry_run: bool = False,
    verbose: bool = False,
    provider: str | None = None,
    delete: bool = False,
) -> None:
    """Stop (or --delete) the cluster; nothing running is not an error."""
    from todo_deploy.flow.lifecycle import may_run

    t = target(c, {"provider": provider}, dry_run=dry_run, verbose=verbose)
    with failures():
        if may_run(t, f"down (delete={delete})"):
            t.provider.down(delete=delete)


@task(help={"provider": PROVIDER_HELP})
def status(c: Context, provider: str | None = None) -> None:
    """Say whether the cluster runs and how each of its parts is."""
    t = target(c, {"provider": provider})
    with failures():
        state = t.provider.status()
    t.console.print(f"{t.provider.name}: {'running' if state.running else 'not running'}")
    for part, health in state.components.items():
        t.console.print(f"  {part}: {health}")
