"""What every task does first: build its Target (config, runner, tools, provider); map failures."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke import Argument, Context, Exit, ParseError, Task
from invoke import task as invoke_task

from todo_deploy.base.clusters import choices_text
from todo_deploy.base.defaults import collection_defaults, component_names
from todo_deploy.base.paths import REPO_ROOT
from todo_deploy.base.run import TERMINAL, CommandError, Runner

if TYPE_CHECKING:  # imported when a task runs, not at start: `invoke --list` stays quick
    from rich.console import Console

    from todo_deploy.steps.target import Target

# The chart's components (helm/todo-app/components.yaml) as help text names them: `all`, the
# `services` and the `entry` "/" reaches, read from a small cache so a start parses no YAML.
COMPONENTS = component_names()


def either(names: Sequence[str]) -> str:
    """Names as help text lists them: "a, b or c"."""
    *rest, last = names
    return f"{', '.join(rest)} or {last}" if rest else last


# Flags shared by the cluster-facing tasks, with their help text.
TARGET_HELP = {
    "provider": f"cluster provider: {choices_text()} (default: invoke.yaml)",
    "namespace": f"Kubernetes namespace of the app (default {collection_defaults()['namespace']})",
    "kube_context": "kubeconfig context for --provider existing (default: the current one)",
}
ALLOW_HELP = {
    "allow_context": "change this kube context although it does not look local (its name)",
}
LOCK_HELP = {
    "no_wait": "refuse at once when another run holds the release's lock (default: wait, "
    "naming who holds it)",
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


class NumberArgument(Argument):
    """An integer flag checked by its whole_number() type; shown as INT in the help."""

    def __init__(self, check: type[int], **kwargs: Any):
        super().__init__(**{**kwargs, "kind": int})
        self.check = check

    def set_value(self, value: Any, cast: bool = True) -> None:
        super().set_value(self.check(value) if cast else value, cast)


class SuiteTask(Task):
    """An Invoke task whose short flags come from SHORT_FLAGS, not from first letters, and
    whose integer flags refuse a bad value with a message."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = SHORT_FLAGS.get(name)
        opts["names"] = [opts["names"][0], short] if short else opts["names"][:1]
        return opts

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        return [_typed(arg) for arg in super().get_arguments(ignore_unknown_help)]


def _typed(arg: Argument) -> Argument:
    """A NumberArgument for a flag whose default is a whole_number() type; else `arg`."""
    if arg.kind in (int, bool) or not (isinstance(arg.kind, type) and issubclass(arg.kind, int)):
        return arg
    return NumberArgument(
        arg.kind,
        names=arg.names,
        default=int(arg.default or 0),
        help=arg.help,
        positional=arg.positional,
        optional=arg.optional,
        incrementable=arg.incrementable,
        attr_name=arg.attr_name,
    )


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
    machine_output: bool = False,
) -> Target:
    """The task's Target; `values` adds values files after the configured ones.

    `machine_output`: stdout is kept for the task's JSON, so messages go to stderr.
    """
    from todo_deploy.base.config import anchored, build_config
    from todo_deploy.base.tools import resolve_tools
    from todo_deploy.providers import get_provider
    from todo_deploy.steps.target import Target

    console = make_console(stderr=machine_output)
    dry_run = dry_run or dry(c)
    with failures():
        config = anchored(build_config(c.config.get("deploy", {}), flags), REPO_ROOT)
        if values:  # typed on the command line: relative to where the user is
            extra = [str(Path(v).absolute()) for v in values]
            config = config.model_copy(update={"values_files": [*config.values_files, *extra]})
        runner = Runner(dry_run=dry_run, echo=verbose or dry_run, printer=console.out)
        tools = resolve_tools(runner)
        provider = get_provider(config, runner, tools)
        tools.check_skew(provider.kube_context or None)
    return Target(config, runner, provider, tools, console)


def guard_context(t: Target, allow_context: str | None, action: str) -> None:
    """Stop before changing a cluster that is not on this machine, unless it is allowed.

    A dry run changes nothing, so it may look at any cluster.
    """
    from todo_deploy.steps import guard

    if t.runner.dry_run:
        return
    context = t.provider.kube_context
    with failures():
        try:
            guard.ensure_allowed(
                t.kube,
                provider=t.provider.name,
                context=context,
                allowed=t.config.allowed_contexts,
                confirmed=allow_context,
                action=action,
            )
        except guard.ContextRefused as exc:
            raise Exit(str(exc), 2) from None


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
Revision = whole_number("revision", 0, 10**9, "a Helm revision (0: the one before the current)")


def dry(c: Context) -> bool:
    """`invoke --dry TASK`: Invoke's own dry-run flag, which the suite reads as --dry-run."""
    return bool(c.config.run.dry)


def refuse_dry(c: Context, name: str, why: str) -> None:
    """Tasks that cannot show their changes without making them refuse `invoke --dry`."""
    if dry(c):
        raise Exit(f"invoke --dry {name}: {why}, so it has no dry run; run it without --dry", 2)


def make_console(stderr: bool = False) -> Console:
    from rich.console import Console

    # Piped output (CI logs, e2e captures) gets wide lines rather than truncated pod names.
    stream = sys.stderr if stderr else sys.stdout
    return Console(highlight=False, stderr=stderr, width=None if stream.isatty() else 160)


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
    """Run a command attached to the terminal (`kubectl logs`): its output is the task's own.

    The command is always shown (masked) first: what follows is its output, not ours.
    """
    if not runner.echo:  # else the Runner shows it
        runner.printer(f"+ {runner.describe(argv, env)}")
    process = runner.spawn(argv, env=env, output=TERMINAL, mutating=False)
    try:
        return process.wait()
    except KeyboardInterrupt:  # the terminal's Ctrl-C reached it too
        process.stop()
        return 0
