"""The helm and kubectl a task runs: the pinned binaries (todo_deploy.binaries)."""

from __future__ import annotations

from dataclasses import dataclass

from todo_deploy import binaries
from todo_deploy.run import Runner


@dataclass(frozen=True)
class Tools:
    helm: str
    kubectl: str


def resolve_tools(runner: Runner) -> Tools:
    pinned = binaries.ensure(runner)
    return Tools(str(pinned.helm), str(pinned.kubectl))
