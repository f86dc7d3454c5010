"""A copy of the chart whose component manifest (components.yaml) a test edits as a person
would, one entry or one line, to show what moving or adding a component costs: nothing else."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from todo_deploy.base.catalogue import MANIFEST
from todo_deploy.steps.manifests import CHART_DIR

# A new service that talks to the database alone, with everything `invoke dev` needs to run it.
WORKER = """
  worker:
    kind: service
    port: 8100
    health: /health
    ready: /health
    image:
      key: worker
      context: .
      dockerfile: worker/Dockerfile
      baseArgs: [PYTHON_IMAGE]
      runtimeBase: PYTHON_IMAGE
    dev:
      argv: [uv, run, --all-packages, --, python, -m, todo_worker, --port, "{port}"]
      cwd: worker
    talksTo: [postgres]
    drain: [python, -c, "import time; time.sleep(5)"]
"""


def copy_chart(tmp_path: Path) -> Path:
    chart = tmp_path / "todo-app"
    shutil.copytree(CHART_DIR, chart)
    return chart


def set_port(chart: Path, component: str, port: int) -> None:
    """Change the one `port:` line of `component`'s entry."""
    path = chart / MANIFEST
    text = path.read_text(encoding="utf-8")
    entry = re.search(rf"^  {component}:\n(?:(?:    .*)?\n)*?    port: \d+$", text, re.M)
    assert entry, f"no port line under {component}"
    start, end = entry.span()
    moved = re.sub(r"port: \d+$", f"port: {port}", text[start:end])
    path.write_text(text[:start] + moved + text[end:], encoding="utf-8")


def add_component(chart: Path, entry: str = WORKER) -> None:
    """Append an entry to the `components` map (before the next top-level key's comments)."""
    path = chart / MANIFEST
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("components:\n")
    end = next(i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "\n"))
    lines.insert(end, entry.lstrip("\n") + "\n")
    path.write_text("".join(lines), encoding="utf-8")
