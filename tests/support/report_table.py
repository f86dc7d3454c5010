"""The images report as plain text, for the budgets test to print (the task renders its own
table with rich)."""

from __future__ import annotations


def format_report(rows: list[dict[str, object]]) -> str:
    """One line per row, each column as wide as its widest cell, headers first."""
    headers = list(rows[0]) if rows else []
    table = [headers] + [[str(row[h]) for h in headers] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in table
    )
