"""Step timings against the budget, the URLs and next commands: a rich table and a JSON dump."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from todo_deploy.base import platforms
from todo_deploy.base.run import Runner
from todo_deploy.steps.live import RolloutProgress, Timings, live_step


@dataclass
class Step:
    name: str
    seconds: float = 0.0
    status: str = "running"  # running, ok, failed, interrupted


@dataclass
class DeployReport:
    budget_seconds: int
    steps: list[Step] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    hosts_line: str = ""
    notes: list[str] = field(default_factory=list)
    next_commands: list[str] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def within_budget(self) -> bool:
        return self.total_seconds <= self.budget_seconds

    def to_json(self) -> str:
        data = asdict(self)
        data.update(total_seconds=self.total_seconds, within_budget=self.within_budget)
        return json.dumps(data, indent=2)

    def write_json(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(self.to_json())


class StepTimer:
    """`with timer.step("images"):` records the step's duration and outcome, even on failure.

    While a step runs, the console shows it live (steps/live.py) with the ETA of its last
    successful run, kept in `timings` under `scope` (the provider: a host cluster's first start
    and a minikube start take different times).
    """

    def __init__(
        self,
        report: DeployReport,
        console: Console,
        runner: Runner | None = None,
        timings: Timings | None = None,
        scope: str = "",
    ):
        self.report = report
        self.console = console
        self.runner = runner
        self.timings = timings
        self.scope = scope

    @contextmanager
    def step(self, name: str, progress: RolloutProgress | None = None) -> Iterator[Step]:
        step = Step(name)
        self.report.steps.append(step)
        key = f"{self.scope}:{name}"
        last = self.timings.seconds.get(key) if self.timings else None
        started = time.monotonic()
        try:
            with live_step(name, self.console, self.runner, last_seconds=last, progress=progress):
                yield step
            step.status = "ok"
        except KeyboardInterrupt:
            step.status = "interrupted"
            raise
        except BaseException:
            step.status = "failed"
            raise
        finally:
            step.seconds = time.monotonic() - started
            self.console.print(f"[bold]{name}[/]: {step.status} in {step.seconds:.1f} s")
            if self.timings and step.status == "ok":
                self.timings.record(key, step.seconds)


def in_hosts_file(line: str, hosts_file: Path) -> bool:
    """True when `hosts_file` maps the line's name to the line's address."""
    address, name = line.split()[0], line.split()[-1]
    try:
        entries = hosts_file.read_text().splitlines()
    except OSError:
        return False
    for entry in entries:
        fields = entry.split("#", 1)[0].split()
        if fields and fields[0] == address and name in fields[1:]:
            return True
    return False


def render(
    report: DeployReport,
    console: Console,
    hosts_file: Path | None = None,
    os_name: str | None = None,
) -> None:
    """Print the report; `hosts_file` and `os_name` default to this machine's."""
    os_name = os_name or platforms.Platform.current().os
    hosts = hosts_file or platforms.hosts_file(os_name)
    table = Table(title="deploy steps")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("status")
    for step in report.steps:
        table.add_row(step.name, f"{step.seconds:.1f}", step.status)
    verdict = "[green]within budget[/]" if report.within_budget else "[red]over budget[/]"
    table.add_row(
        "[bold]total[/]", f"{report.total_seconds:.1f}", f"{verdict} ({report.budget_seconds} s)"
    )
    console.print(table)
    for label, url in report.urls.items():
        console.print(f"{label}: {url}")
    if report.hosts_line and not in_hosts_file(report.hosts_line, hosts):
        # A hint, not a failure: the deploy is verified through the ingress address itself.
        how = platforms.add_hosts_line(report.hosts_line, hosts, os_name, wsl=platforms.is_wsl())
        console.print(
            f"hint: {report.hosts_line.split()[-1]} is not in {hosts}; to open the app by "
            f"name, add the line [bold]{report.hosts_line}[/] ({how})"
        )
    for note in report.notes:
        console.print(note)
    if report.next_commands:
        console.print("next: " + "  |  ".join(report.next_commands))
