"""Figures of the e2e run: recorded as the tests go, written to build/ and checked vs budgets."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    budget: float | None = None  # fails the run when exceeded
    goal: float | None = None  # what we aim for; reported, never fails

    @property
    def within_budget(self) -> bool:
        return self.budget is None or self.value <= self.budget


class Figures:
    def __init__(self) -> None:
        self.items: dict[str, Figure] = {}

    def record(self, figure: Figure) -> Figure:
        self.items[figure.name] = figure
        print(f"figure: {figure.name} = {figure.value:.2f} {figure.unit}")
        return figure

    def over_budget(self) -> list[Figure]:
        return [f for f in self.items.values() if not f.within_budget]

    def markdown(self) -> str:
        rows = ["| figure | value | budget | goal | |", "|---|---|---|---|---|"]
        for f in self.items.values():
            budget = f"{f.budget:g} {f.unit}" if f.budget is not None else "-"
            goal = f"{f.goal:g} {f.unit}" if f.goal is not None else "-"
            mark = "ok" if f.within_budget else "OVER BUDGET"
            rows.append(f"| {f.name} | {f.value:.2f} {f.unit} | {budget} | {goal} | {mark} |")
        return "\n".join(rows) + "\n"

    def write(self, directory: Path, stem: str = "e2e-figures") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        data = [asdict(f) | {"within_budget": f.within_budget} for f in self.items.values()]
        (directory / f"{stem}.json").write_text(json.dumps(data, indent=2) + "\n")
        (directory / f"{stem}.md").write_text(self.markdown())
