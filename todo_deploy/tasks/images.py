"""`invoke images.build|report`: the app's images in the cluster's engine."""

from __future__ import annotations

from invoke import Context

from todo_deploy.tasks.common import COMPONENTS, failures, refuse_dry, target, task

NAMES_HELP = f"image to build (repeatable; default all: {', '.join(COMPONENTS['all'])})"
PROVIDER_HELP = "build where this provider's cluster sees images (default from invoke.yaml)"


def _build(c: Context, name: list[str] | None, provider: str | None, verbose: bool) -> None:
    from rich.table import Table

    from todo_deploy.flow.lifecycle import Hooks
    from todo_deploy.steps.images import report_rows

    refuse_dry(
        c, "images.build", "building is what it does (`invoke --dry deploy` lists the builds)"
    )
    t = target(c, {"provider": provider}, verbose=verbose)
    with failures():
        names = [t.catalogue[n].name for n in name or t.catalogue.names()]
        built = Hooks().build_images(names, docker_env=t.provider.docker_env(), runner=t.runner)
    rows = report_rows(built)
    table = Table(*(rows[0] if rows else []), title=f"images in the {t.provider.name} engine")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    t.console.print(table)


@task(
    iterable=["name"],
    help={"name": NAMES_HELP, "provider": PROVIDER_HELP, "verbose": "echo each command as it runs"},
)
def build(
    c: Context, name: list[str] | None = None, provider: str | None = None, verbose: bool = False
) -> None:
    """Build the images (content-tagged; unchanged ones are reused)."""
    _build(c, name, provider, verbose)


@task(help={"provider": PROVIDER_HELP})
def report(c: Context, provider: str | None = None) -> None:
    """Show each image's tag, size and build time (building what is missing)."""
    _build(c, None, provider, verbose=False)
