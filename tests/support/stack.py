"""The deployed stack the end-to-end tests drive: its config, provider, kubectl and ingress."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from todo_deploy.base.config import DeployConfig
from todo_deploy.base.kube import Kube
from todo_deploy.providers.base import IngressAccess, Provider

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
