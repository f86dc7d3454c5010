"""Size and cold-start budgets, printed always, asserted after (the Nox `images` session)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from tests.images.conftest import BUILD_TIMEOUT
from todo_deploy.images import SPECS, BuiltImage, cold_start, format_report, report_rows

pytestmark = [pytest.mark.docker, pytest.mark.timeout(BUILD_TIMEOUT)]

UNUSED = "http://127.0.0.1:9"  # discard port inside the container: configured, never called


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


def _cold_start_env() -> dict[str, dict[str, str]]:
    """Just enough settings for each service to start and answer its health path."""
    token = secrets.token_hex(16)
    sqlite = "sqlite:////tmp/cold-start.db"
    return {
        "frontend": {"DATABASE_URL": "postgresql://todo:unused@127.0.0.1:9/todo",
                     "BETTER_AUTH_SECRET": secrets.token_hex(32),
                     "BETTER_AUTH_URL": "http://127.0.0.1:3000", "BETTER_AUTH_TELEMETRY": "0"},
        "backend": {"DATABASE_URL": sqlite, "AUTH_JWKS_URL": f"{UNUSED}/jwks",
                    "MCP_SERVER_URL": f"{UNUSED}/mcp", "MCP_API_TOKEN": token},
        "mcp": {"DATABASE_URL": sqlite, "MCP_API_TOKEN": token},
    }  # fmt: skip


def test_sizes_and_cold_starts_within_budget(built: dict[str, BuiltImage], docker) -> None:
    envs = _cold_start_env()
    rows = report_rows(built)
    for row, (name, image) in zip(rows, built.items(), strict=True):
        spec, budget = SPECS[name], BUDGETS[name]
        seconds = (
            cold_start(image.ref, spec.health_path, spec.port, envs[name], docker=docker)
            if spec.health_path and budget.max_cold_start_s
            else None
        )
        row["cold_start_s"] = "-" if seconds is None else round(seconds, 2)
        row["budget"] = f"{budget.max_mb:.0f} MB" + (
            f" / {budget.max_cold_start_s} s" if budget.max_cold_start_s else ""
        )
        row["goal"] = f"{budget.goal_mb:.0f} MB / {budget.goal_cold_start_s} s"
    print("\n" + format_report(rows))

    over = [
        f"{name}: {row['size_mb']} MB > {BUDGETS[name].max_mb} MB"
        for name, row in zip(built, rows, strict=True)
        if float(row["size_mb"]) > BUDGETS[name].max_mb
    ] + [
        f"{name}: cold start {row['cold_start_s']} s > {BUDGETS[name].max_cold_start_s} s"
        for name, row in zip(built, rows, strict=True)
        if row["cold_start_s"] != "-"
        and float(row["cold_start_s"]) > (BUDGETS[name].max_cold_start_s or 0)
    ]
    assert over == [], "over budget: " + "; ".join(over)
