"""Size and cold-start budgets, printed always, asserted after (the Nox `images` session)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.support.cold_start import measure_cold_starts
from tests.support.report_table import format_report
from todo_deploy.steps.images import BUILD_TIMEOUT, MB, BuiltImage, report_rows

pytestmark = [pytest.mark.docker, pytest.mark.timeout(BUILD_TIMEOUT)]


@dataclass(frozen=True)
class ImageBudget:
    max_mb: float
    goal_mb: float
    max_cold_start_s: float | None = 3.0  # None: not an HTTP service
    goal_cold_start_s: float = 1.5


BUDGETS = {
    "frontend": ImageBudget(max_mb=200, goal_mb=150),
    "backend": ImageBudget(max_mb=500, goal_mb=200),
    "mcp": ImageBudget(max_mb=500, goal_mb=200),
    "postgres": ImageBudget(max_mb=400, goal_mb=250, max_cold_start_s=None),
}


def test_sizes_and_cold_starts_within_budget(built: dict[str, BuiltImage], docker) -> None:
    cold_starts = measure_cold_starts(built, runner=docker.runner)
    rows = report_rows(built, cold_starts)
    for name, row in zip(built, rows, strict=True):
        budget = BUDGETS[name]
        row["budget"] = f"{budget.max_mb:.0f} MB" + (
            f" / {budget.max_cold_start_s} s" if budget.max_cold_start_s else ""
        )
        row["goal"] = f"{budget.goal_mb:.0f} MB / {budget.goal_cold_start_s} s"
    print("\n" + format_report(rows))

    over = [
        f"{name}: {image.size_bytes / MB:.1f} MB > {BUDGETS[name].max_mb} MB"
        for name, image in built.items()
        if image.size_bytes / MB > BUDGETS[name].max_mb
    ] + [
        f"{name}: cold start {seconds:.2f} s > {BUDGETS[name].max_cold_start_s} s"
        for name, seconds in cold_starts.items()
        if seconds > (BUDGETS[name].max_cold_start_s or float("inf"))
    ]
    assert over == [], "over budget: " + "; ".join(over)
