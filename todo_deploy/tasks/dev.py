"""`invoke dev`: the app on this machine without Kubernetes."""

from __future__ import annotations

from invoke import Context

from todo_deploy.tasks.common import REPO_ROOT, failures, make_console, refuse_dry, task


@task(help={"verbose": "echo each command as it runs"})
def dev(c: Context, verbose: bool = False) -> None:
    """Run the app's services locally on SQLite (.dev/), reloading on save; Ctrl-C stops."""
    from todo_deploy.base.run import Runner
    from todo_deploy.day2.devserver import dev_services, run_dev
    from todo_deploy.day2.follow import prefixed_printer

    refuse_dry(c, "dev", "it only starts local servers")
    console = make_console()
    with failures():
        show = prefixed_printer(console, [service.name for service in dev_services(REPO_ROOT)])
        run_dev(Runner(echo=verbose, printer=console.out), REPO_ROOT, console.out, show=show)
