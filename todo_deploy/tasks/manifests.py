"""`invoke manifests`: render k8s/ from the chart (the chart is the one source)."""

from __future__ import annotations

from pathlib import Path

from invoke import Context, Exit

from todo_deploy.tasks.common import REPO_ROOT, dry, failures, task


@task(
    help={
        "check": "only check that k8s/ matches the chart; fail if not",
        "verbose": "echo each command as it runs",
    }
)
def manifests(c: Context, check: bool = False, verbose: bool = False) -> None:
    """Render k8s/ from the Helm chart with values-dev.yaml (`invoke --dry` lists the changes)."""
    from todo_deploy.base.run import Runner
    from todo_deploy.steps import manifests as chart

    runner = Runner(echo=verbose)
    k8s = REPO_ROOT / "k8s"
    with failures():
        if dry(c):  # render in memory only and say what a real run would change
            problems = chart.check_in_sync(k8s, runner=runner)[:-1]
            print("\n".join(f"[dry-run] {p}" for p in problems) or "[dry-run] k8s/ is in sync")
            return
        if check:
            problems = chart.check_in_sync(k8s, runner=runner)
            if problems:
                raise Exit("\n".join(problems), 1)
            print("k8s/ matches the chart")
            return
        written = chart.render(k8s, runner=runner)
    print(f"rendered {len(written)} files into {Path(k8s).relative_to(REPO_ROOT)}/ from the chart")
