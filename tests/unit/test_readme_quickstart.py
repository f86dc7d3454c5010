"""README's quick start is what the first-run session runs, and what CI runs as its tests."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.quickstart.readme import ROOT, quick_start
from tests.quickstart.test_first_run import session_commands

CI_RUN = ROOT / ".ci" / "run"


def test_the_session_runs_readmes_first_line_as_written() -> None:
    block = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("```")[1]
    first_line = block.removeprefix("bash\n").splitlines()[0].strip()
    assert session_commands()[0] == first_line


def test_the_first_line_gets_uv_each_way_in_order_then_deploys() -> None:
    line = quick_start().deploy
    ways = ["command -v uv", "https://astral.sh/uv/install.sh | sh", "pip install --user uv"]
    positions = [line.find(way) for way in ways]
    assert -1 not in positions and positions == sorted(positions), line
    assert line.endswith("; uv run --no-dev invoke deploy")
    assert "--break-system-packages" not in line and "sudo" not in line
    assert subprocess.run(["bash", "-n", "-c", line]).returncode == 0  # valid shell


def test_the_second_line_is_the_test_command_ci_runs() -> None:
    ci = [line.strip() for line in CI_RUN.read_text().splitlines()]
    run = [line for line in ci if re.match(r"uv run .*\bnox\b", line)]
    assert len(run) == 1
    assert run[0].replace(" --frozen", "") == quick_start().test


def test_a_quick_start_of_other_than_two_commands_is_refused(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n## Quick start\n\n```bash\nuv run --no-dev invoke deploy\n```\n")
    with pytest.raises(ValueError, match="two commands"):
        quick_start(readme)
