"""What every task does first: build its Target (config, runner, tools, provider); map failures."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke import Context, Exit, ParseError, Task
from invoke import task as invoke_task
from rich.console import Console

from todo_deploy.config import build_config
from todo_deploy.providers import get_provider
from todo_deploy.run import CommandError, Runner
from todo_deploy.target import Target
from todo_deploy.tools import resolve_tools

# Paths in invoke.yaml (chart, k8s/, values files) are relative to the repository root.
REPO_ROOT = Path(__file__).resolve().parents[2]

# Flags shared by the cluster-facing tasks, with their help text.
TARGET_HELP = {
    "provider": "cluster provider: auto, minikube, existing or host (default from invoke.yaml)",
    "namespace": "Kubernetes namespace of the app (default todo-app)",
    "kube_context": "kubeconfig context for --provider existing (default: the current one)",
}
RUN_HELP = {
    "dry_run": "print every command with its environment (secrets masked); change nothing",
    "verbose": "echo each command as it runs",
}


# The one meaning of each short flag, in every task; other flags have only their long name.
SHORT_FLAGS = {
    "dry_run": "d",
    "verbose": "v",
    "provider": "p",
    "namespace": "n",
    "kube_context": "k",
    "component": "c",
    "follow": "f",
}


class SuiteTask(Task):
    """An Invoke task whose short flags come from SHORT_FLAGS, not from first letters."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        opts["names"] = [opts["names"][0], short] if short else opts["names"][:1]
        return opts


def task(*args: Any, **kwargs: Any) -> Any:
    """`invoke.task` making a SuiteTask."""
    return invoke_task(*args, klass=SuiteTask, **kwargs)


def target(
    c: Context,
    flags: Mapping[str, Any],
    *,
    dry_run: bool = False,
    verbose: bool = False,
    values: Sequence[str] = (),
) -> Target:
    """The task's Target; `values` adds values files after the configured ones."""
    console = make_console()
    os.chdir(REPO_ROOT)
    dry_run = dry_run or dry(c)
    with failures():
        config = build_config(c.config.get("deploy", {}), flags)
        if values:
            config = config.model_copy(update={"values_files": [*config.values_files, *values]})
        runner = Runner(dry_run=dry_run, echo=verbose or dry_run, printer=console.out)
        tools = resolve_tools(runner)
        provider = get_provider(config, runner, tools.kubectl)
    return Target(config, runner, provider, tools, console)


def whole_number(flag: str, low: int, high: int, meaning: str) -> type[int]:
    """The type of an integer flag's default: Invoke casts the flag's value with it.

    Invoke prints a ParseError as one message (exit 1); a plain int() would end in a traceback.
    """

    class Checked(int):
        def __new__(cls, value: object = 0) -> Checked:
            try:
                number = int(str(value))
            except ValueError:
                number = low - 1
            if not low <= number <= high:
                raise ParseError(f"--{flag} {value!r} is not {meaning}: give {low} to {high}")
            return super().__new__(cls, number)

    Checked.__name__ = Checked.__qualname__ = f"{flag.title()}Number"
    return Checked


Port = whole_number("port", 0, 65535, "a TCP port (0: the service's own)")
Seconds = whole_number("timeout", 0, 86400, "a number of seconds (0: the configured one)")
Lines = whole_number("tail", 0, 100000, "a number of lines")


def dry(c: Context) -> bool:
    """`invoke --dry TASK`: Invoke's own dry-run flag, which the suite reads as --dry-run."""
    return bool(c.config.run.dry)


def refuse_dry(c: Context, name: str, why: str) -> None:
    """Tasks that cannot show their changes without making them refuse `invoke --dry`."""
    if dry(c):
        raise Exit(f"invoke --dry {name}: {why}, so it has no dry run; run it without --dry", 2)


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
