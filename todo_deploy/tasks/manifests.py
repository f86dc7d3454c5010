"""`invoke manifests`: render k8s/ from the chart (the chart is the one source)."""

from __future__ import annotations

from invoke import Context, Exit, task

from todo_deploy.tasks.common import failures


@task(
    help={
        "check": "only check that k8s/ matches the chart; fail if not",
        "out": "directory to render into (default k8s)",
    }
)
def manifests(c: Context, check: bool = False, out: str = "k8s") -> None:
    """Render k8s/ from the Helm chart with values-dev.yaml."""
    from todo_deploy import manifests as chart_manifests

    with failures():
        if not check:
            chart_manifests.render(out)
            print(f"rendered {out}/ from the chart")
            return
        if chart_manifests.check_in_sync() is False:
            raise Exit("k8s/ is out of date with the chart: run `invoke manifests`", 1)
    print("k8s/ matches the chart")
