"""Fixtures of the end-to-end run: the real cluster, the deployed app, the figures."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.figures import Figures
from todo_deploy.binaries import ensure as ensure_binaries
from todo_deploy.config import DeployConfig
from todo_deploy.kube import Kube
from todo_deploy.providers import get_provider
from todo_deploy.providers.base import IngressAccess, Provider
from todo_deploy.run import Runner

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"


@dataclass
class Stack:
    config: DeployConfig
    provider: Provider
    kube: Kube
    access: IngressAccess
    outputs: dict[str, str] = field(default_factory=dict)  # what each `invoke` printed

    def invoke(self, *args: str, timeout: float = 900) -> tuple[float, subprocess.CompletedProcess]:
        """Run an `invoke` task the way a user types it; returns (seconds, process)."""
        argv = [sys.executable, "-m", "invoke", *args, "--provider", self.config.provider]
        started = time.monotonic()
        proc = subprocess.run(argv, cwd=ROOT, text=True, capture_output=True, timeout=timeout)
        seconds = time.monotonic() - started
        self.outputs[f"invoke {' '.join(args)} #{len(self.outputs) + 1}"] = (
            proc.stdout + proc.stderr
        )
        print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n")
        return seconds, proc


@pytest.fixture(scope="session")
def figures():
    collected = Figures()
    yield collected
    collected.write(BUILD)
    print("\n" + collected.markdown())


@pytest.fixture(scope="session")
def stack() -> Stack:
    config = DeployConfig(provider=os.environ.get("E2E_PROVIDER", "auto"))
    runner = Runner()
    provider = get_provider(config, runner)
    tools = ensure_binaries()
    kube = Kube(runner, str(tools.kubectl), provider.kube_context or None, config.namespace)
    return Stack(config, provider, kube, provider.ingress(config.ingress_host))
