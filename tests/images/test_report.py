"""The images report: sizes in MB as `docker images` prints them, cold starts when measured."""

from __future__ import annotations

from tests.support.report_table import format_report
from todo_deploy.steps.images import BuiltImage, report_rows

BUILT = {
    "frontend": BuiltImage(
        "frontend", "todo-frontend:abc", "abc", 61.04, 125_960_000, False, 32_600_000
    ),
    "postgres": BuiltImage(
        "postgres", "todo-postgres:def", "def", 0.0, 188_560_000, True, 121_800_000
    ),
}


def test_rows_carry_sizes_build_time_and_cold_starts() -> None:
    rows = report_rows(BUILT, {"frontend": 0.5612})
    assert rows[0] == {
        "image": "todo-frontend:abc",
        "size_mb": 126.0,
        "added_mb": 32.6,
        "build_s": 61.0,
        "reused": False,
        "cold_start_s": 0.56,
    }
    assert rows[1]["cold_start_s"] == "-" and rows[1]["reused"] is True


def test_rows_without_cold_starts_have_no_such_column() -> None:
    assert all("cold_start_s" not in row for row in report_rows(BUILT))


def test_table_aligns_columns_under_their_headers() -> None:
    lines = format_report(report_rows(BUILT)).splitlines()
    assert lines[0].split() == ["image", "size_mb", "added_mb", "build_s", "reused"]
    assert lines[1].index("126.0") == lines[0].index("size_mb")
