"""What every task does first: build the config, runner, tools and provider; map failures."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invoke import Context, Exit
from rich.console import Console

from todo_deploy.config import DeployConfig, build_config
from todo_deploy.kube import Kube
from todo_deploy.providers import get_provider
from todo_deploy.providers.base import Provider
from todo_deploy.run import CommandError, Runner
from todo_deploy.tools import Tools, resolve_tools

# Paths in invoke.yaml (chart, k8s/, values files) are relative to the repository root.
REPO_ROOT = Path(__file__).resolve().parents[2]

# Flags shared by the cluster-facing tasks, with their help text.
TARGET_HELP = {
    "provider": "cluster provider: auto, minikube, kind, existing or host (default: invoke.yaml)",
    "namespace": "Kubernetes namespace of the app (default todo-app)",
    "kube_context": "kubeconfig context for --provider existing (default: the current one)",
}
RUN_HELP = {
    "dry_run": "print every command with its environment (secrets masked); change nothing",
    "verbose": "echo each command as it runs",
}


@dataclass
class Session:
    config: DeployConfig
    runner: Runner
    tools: Tools
    provider: Provider
    console: Console

    def kube(self) -> Kube:
        return Kube(
            self.runner,
            self.tools.kubectl,
            self.provider.kube_context or None,
            self.config.namespace,
        )


def session(
    c: Context, flags: Mapping[str, Any], *, dry_run: bool = False, verbose: bool = False
) -> Session:
    console = make_console()
    os.chdir(REPO_ROOT)
    with failures():
        config = build_config(c.config.get("deploy", {}), flags)
        runner = Runner(dry_run=dry_run, echo=verbose or dry_run, printer=console.out)
        tools = resolve_tools(runner)
        provider = get_provider(config, runner, tools.kubectl)
    return Session(config, runner, tools, provider, console)


def make_console() -> Console:
    # Piped output (CI logs, e2e captures) gets wide lines rather than truncated pod names.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


@contextmanager
def failures() -> Iterator[None]:
    """Turn the suite's errors into one clear message and a non-zero exit."""
    try:
        yield
    except CommandError as exc:
        raise Exit(exc.block(), 1) from None
    except KeyboardInterrupt:
        raise Exit(
            "interrupted: a failed helm upgrade is rolled back and a pending one is unlocked "
            "on the next run; "
            "run the same command again to converge",
            130,
        ) from None
    except (RuntimeError, ValueError, OSError) as exc:
        raise Exit(f"error: {exc}", 1) from None


def foreground(runner: Runner, argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Run a long-lived command attached to the terminal (logs -f, port-forward).

    The Runner captures output until exit; these must stream, so they run here, echoed
    through the Runner's masking.
    """
    runner.printer(f"+ {runner.describe(argv, env)}")
    try:
        return subprocess.run(
            list(argv), env={**runner.base_env, **(env or {})}, check=False
        ).returncode
    except KeyboardInterrupt:
        return 0
