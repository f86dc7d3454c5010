"""Paths of the pinned helm and kubectl binaries (from the chart helper's module when present)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from todo_deploy.run import Runner


@dataclass(frozen=True)
class Tools:
    helm: str
    kubectl: str


def resolve_tools(runner: Runner) -> Tools:
    try:
        from todo_deploy import binaries
    except ImportError:  # the pinned-binaries module has not landed: use what is on PATH
        return Tools(shutil.which("helm") or "helm", shutil.which("kubectl") or "kubectl")
    pinned = binaries.ensure(runner)
    return Tools(str(pinned.helm), str(pinned.kubectl))
