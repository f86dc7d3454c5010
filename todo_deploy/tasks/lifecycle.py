"""`invoke deploy` and `invoke teardown`."""

from __future__ import annotations

from invoke import Context

from todo_deploy.tasks.common import (
    ALLOW_HELP,
    LOCK_HELP,
    RUN_HELP,
    TARGET_HELP,
    Seconds,
    failures,
    guard_context,
    target,
    task,
)


@task(
    iterable=["values"],
    help={
        **RUN_HELP,
        **TARGET_HELP,
        **ALLOW_HELP,
        **LOCK_HELP,
        "method": "helm (default) or kubectl (applies k8s/ and waits for each rollout)",
        "values": "extra Helm values file (repeatable)",
        "registry": "push images to this registry (HOST/PATH) instead of loading them",
        "openai": "require OPENAI_API_KEY (else the offline agent answers)",
        "timeout": "seconds to wait for the release to become ready (default from invoke.yaml)",
    },
)
def deploy(
    c: Context,
    dry_run: bool = False,
    verbose: bool = False,
    provider: str | None = None,
    method: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
    values: list[str] | None = None,
    registry: str | None = None,
    openai: bool = False,
    timeout: int = Seconds(0),
    allow_context: str | None = None,
    no_wait: bool = False,
) -> None:
    """Build, release and verify the whole stack on a local cluster, each step timed."""
    from todo_deploy.flow import lifecycle as flow
    from todo_deploy.steps.report import DeployReport, render

    flags = {
        "provider": provider,
        "method": method,
        "namespace": namespace,
        "kube_context": kube_context,
        "registry": registry,
        "timeouts.rollout": int(timeout) or None,
        "timeouts.lock": 0 if no_wait else None,
    }
    t = target(c, flags, dry_run=dry_run, verbose=verbose, values=values or ())
    guard_context(t, allow_context, "deploy to")
    report = DeployReport(t.config.budgets.deploy_seconds)
    try:
        with failures():
            flow.deploy(t, openai=openai, report=report)
    finally:
        # Shown on failure too: which step failed, and how long each one took.
        render(report, t.console)
        if not t.runner.dry_run:
            report.write_json(t.config.report_json)
            t.console.print(f"report written to {t.config.report_json}")
    if not report.within_budget:
        t.console.print(f"[yellow]deploy took longer than the {report.budget_seconds} s budget[/]")


@task(
    help={
        **RUN_HELP,
        **TARGET_HELP,
        **ALLOW_HELP,
        **LOCK_HELP,
        "method": "how it was deployed: helm (default) or kubectl",
        "purge_data": "also delete the database volume (kept by default)",
        "cluster": "also stop the cluster",
        "delete": "also delete the cluster and its state",
        "images": "also remove the built images",
    },
)
def teardown(
    c: Context,
    dry_run: bool = False,
    verbose: bool = False,
    provider: str | None = None,
    method: str | None = None,
    namespace: str | None = None,
    kube_context: str | None = None,
    purge_data: bool = False,
    cluster: bool = False,
    delete: bool = False,
    images: bool = False,
    allow_context: str | None = None,
    no_wait: bool = False,
) -> None:
    """Remove the release and its namespace (keeping the database unless --purge-data)."""
    from todo_deploy.flow import lifecycle as flow

    flags = {
        "provider": provider,
        "method": method,
        "namespace": namespace,
        "kube_context": kube_context,
        "timeouts.lock": 0 if no_wait else None,
    }
    t = target(c, flags, dry_run=dry_run, verbose=verbose)
    guard_context(t, allow_context, "tear down")
    options = flow.TeardownOptions(purge_data, cluster, delete, images)
    with failures():
        flow.teardown(t, options=options)
    if not t.runner.dry_run:
        t.console.print("teardown done")
