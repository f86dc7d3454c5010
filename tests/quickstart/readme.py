"""README's quick start, read from README.md: the first-run session runs exactly these lines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECTION = "## Quick start"


@dataclass(frozen=True)
class QuickStart:
    deploy: str  # the first line: get uv, then deploy
    test: str  # the second line: the test command CI runs


def quick_start(readme: Path = README) -> QuickStart:
    """The two commands of the quick start's code block, each without its trailing comment."""
    text = readme.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    if block is None:
        raise ValueError(f"{readme}: no ```bash block under '{SECTION}'")
    commands = [_without_comment(line) for line in block.group(1).splitlines() if line.strip()]
    if len(commands) != 2:
        raise ValueError(f"{readme}: the quick start must be two commands, found {commands}")
    return QuickStart(*commands)


def _without_comment(line: str) -> str:
    """`cmd   # what it does` -> `cmd` (a `#` inside a word, as in a URL, stays)."""
    return re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
