"""The one place external commands run, and the one module of the suite that uses subprocess.

Every command of the suite goes through a `Runner`: argv lists only (no shell), an explicit
environment, secret masking in every echo and error, timing, dry-run and one clear error block
on failure. Tests swap in a runner with a fake `execute` (and a fake `spawner`).

Two ways to run: `run` waits for a command to finish (a `listener` may receive each output
line while it runs, masked), and `spawn` starts a long-lived process and returns its handle
at once: logs -f, watches and port-forwards read line by line, the dev servers in their own
process groups, daemons writing to a log file, a command attached to the terminal.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol

MASK = "******"
TAIL_LINES = 20


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class CommandError(RuntimeError):
    """A command failed: carries a ready-to-print block (command, exit code, last lines)."""

    def __init__(self, step: str, result: Result, masked_command: str, masked_tail: str):
        self.step = step
        self.result = result
        self.masked_command = masked_command
        self.masked_tail = masked_tail
        super().__init__(self.block())

    def block(self) -> str:
        lines = [
            f"step failed: {self.step}",
            f"  command:   {self.masked_command}",
            f"  exit code: {self.result.returncode}",
        ]
        if self.masked_tail:
            lines.append("  last output:")
            lines.extend(f"    {line}" for line in self.masked_tail.splitlines())
        return "\n".join(lines)


def _tail(text: str, n: int = TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


LineSink = Callable[[str], None]


class Executor(Protocol):
    """Runs argv to completion (in `cwd`, when given); with `on_line`, also hands over each
    output line as it comes."""

    def __call__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        timeout: float | None,
        stdin: str | None,
        on_line: LineSink | None = None,
        cwd: Path | None = None,
    ) -> Result: ...


def subprocess_execute(
    argv: Sequence[str],
    env: Mapping[str, str],
    timeout: float | None,
    stdin: str | None,
    on_line: LineSink | None = None,
    cwd: Path | None = None,
) -> Result:
    started = time.monotonic()
    if on_line is None:
        proc = subprocess.run(
            list(argv),
            env=dict(env),
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        seconds = time.monotonic() - started
        return Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr, seconds)
    return _execute_streaming(argv, env, timeout, stdin, on_line, cwd, started)


def _execute_streaming(
    argv: Sequence[str],
    env: Mapping[str, str],
    timeout: float | None,
    stdin: str | None,
    on_line: LineSink,
    cwd: Path | None,
    started: float,
) -> Result:
    proc = subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=_pump, args=(stream, into, on_line), daemon=True)
        for stream, into in ((proc.stdout, out), (proc.stderr, err))
    ]
    for reader in readers:
        reader.start()
    if stdin is not None and proc.stdin:
        proc.stdin.write(stdin)
        proc.stdin.close()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    finally:
        for reader in readers:
            reader.join(timeout=5)
    seconds = time.monotonic() - started
    return Result(tuple(argv), proc.returncode, "".join(out), "".join(err), seconds)


def _pump(stream: IO[str] | None, into: list[str], on_line: LineSink) -> None:
    for line in stream or ():
        into.append(line)
        on_line(line.rstrip("\n"))


# Where a spawned process's output goes: PIPE (stdout and stderr merged, read with
# `lines()`), TERMINAL (the task's own stdin, stdout and stderr), or a log file (appended).
Output = Literal["pipe", "terminal"] | Path
PIPE: Output = "pipe"
TERMINAL: Output = "terminal"
STOP_GRACE = 5.0
# Windows: its own process group (Ctrl-C in the terminal does not reach it), no console.
WINDOWS_DETACHED = 0x00000200 | 0x00000008  # CREATE_NEW_PROCESS_GROUP | DETACHED_PROCESS


@dataclass(frozen=True)
class SpawnSpec:
    """What a spawner starts: argv, its whole environment, its folder and how it is attached."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path | None = None
    output: Output = PIPE
    detach: bool = False


class Process(Protocol):
    """A started process: its output lines (PIPE only), its state, and how it ends."""

    @property
    def pid(self) -> int | None: ...

    def lines(self) -> Iterator[str]: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def stop(self, grace: float = STOP_GRACE) -> None: ...


Spawner = Callable[[SpawnSpec], Process]


def detach_options(windows: bool) -> dict[str, Any]:
    """Popen options giving a process its own group: Ctrl-C in the terminal spares it, and
    stopping it reaches its children (npm -> next -> next-server)."""
    if windows:
        return {"creationflags": WINDOWS_DETACHED}
    # The same session, so `sudo` inside it (minikube tunnel on macOS) finds the terminal's
    # cached credential.
    return {"process_group": 0}


def _streams(output: Output, log: IO[bytes] | None) -> dict[str, Any]:
    if output == TERMINAL:
        return {}  # inherited: the command talks to the user's terminal
    return {
        "stdin": subprocess.DEVNULL,
        "stdout": log or subprocess.PIPE,
        "stderr": subprocess.STDOUT,
    }


class PopenProcess:
    """The real `Process`: started by `Runner.spawn` through `subprocess.Popen`."""

    def __init__(self, spec: SpawnSpec):
        log = spec.output.open("ab") if isinstance(spec.output, Path) else None
        try:
            self.proc = subprocess.Popen(
                list(spec.argv),
                env=dict(spec.env),
                cwd=spec.cwd,
                text=True,
                bufsize=1 if spec.output == PIPE else -1,
                **_streams(spec.output, log),
                **(detach_options(os.name == "nt") if spec.detach else {}),
            )
        finally:
            if log:
                log.close()  # the child holds its own copy
        self.group = spec.detach and hasattr(os, "killpg")
        self.terminated = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def lines(self) -> Iterator[str]:
        for line in self.proc.stdout or ():
            yield line.rstrip("\n")

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def terminate(self) -> None:
        """Ask it to end (SIGTERM; to its whole group when detached), once."""
        if not self.terminated:
            self.terminated = True
            self._signal(kill=False)

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Ask it to end; kill it when it has not after `grace` seconds, or on a second Ctrl-C."""
        self.terminate()
        try:
            self.proc.wait(timeout=grace)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            self._signal(kill=True)
            self.proc.wait()

    def _signal(self, kill: bool) -> None:
        if self.group:  # the group, even once its leader is gone: its children may still run
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        elif self.proc.poll() is None and kill:
            self.proc.kill()
        elif self.proc.poll() is None:
            self.proc.terminate()


class NoProcess:
    """What a dry run's spawn returns: nothing was started."""

    pid = None

    def lines(self) -> Iterator[str]:
        return iter(())

    def poll(self) -> int | None:
        return 0

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def terminate(self) -> None:
        pass

    def stop(self, grace: float = STOP_GRACE) -> None:
        pass


@dataclass
class MaskedProcess:
    """What `Runner.spawn` returns: the process, its lines with every secret masked."""

    process: Process
    mask: Callable[[str], str]

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def lines(self) -> Iterator[str]:
        for line in self.process.lines():
            yield self.mask(line)

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.process.wait(timeout)

    def terminate(self) -> None:
        self.process.terminate()

    def stop(self, grace: float = STOP_GRACE) -> None:
        self.process.stop(grace)


@dataclass
class Runner:
    """Runs argv lists with masking, dry-run and echo.

    `secrets` holds values that must never be printed; every echo, dry-run line and error block
    passes through `mask`. In dry-run mode commands are recorded and printed, not executed, and
    a successful empty result is returned, so callers must not depend on output in dry-run.
    """

    dry_run: bool = False
    echo: bool = False
    execute: Executor = subprocess_execute
    spawner: Spawner = PopenProcess
    printer: Callable[[str], None] = print
    # Set while a live display shows a step: receives each output line, already masked.
    listener: LineSink | None = None
    secrets: set[str] = field(default_factory=set)
    base_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    history: list[tuple[str, ...]] = field(default_factory=list)

    def add_secrets(self, values: Iterable[str | None]) -> None:
        # Very short values would mask ordinary words; real secrets are long.
        self.secrets.update(v for v in values if v and len(v) >= 6)

    def mask(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def describe(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        command = shlex.join(list(argv))
        return self.mask(f"{prefix} {command}" if prefix else command)

    def run(
        self,
        command: Sequence[str | os.PathLike[str]],
        *,
        step: str = "",
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        check: bool = True,
        timeout: float | None = None,
        stdin: str | None = None,
        mutating: bool = True,
    ) -> Result:
        """Run `argv` (in folder `cwd`, when given: else where the task was started); `env` is
        added to the base environment and shown (masked) in echoes.

        `mutating=False` marks read-only commands (version checks, `get`): they still run in
        dry-run mode, so a dry run can report what it would do from the real state.
        """
        argv = tuple(str(a) for a in command)
        shown = self.describe(argv, env)
        self.history.append(argv)
        if self.dry_run and mutating:
            self.printer(f"[dry-run] {shown}")
            return Result(argv, 0)
        if self.echo:
            self.printer(f"+ {shown}")
        full_env = {**self.base_env, **(env or {})}
        # Reads answer with data (JSON, versions), not progress: only changes are shown live.
        listener = self.listener if mutating else None
        on_line = None if listener is None else (lambda line: listener(self.mask(line)))
        folder = Path(cwd) if cwd else None
        try:
            result = self.execute(argv, full_env, timeout, stdin, on_line, cwd=folder)
        except FileNotFoundError:
            result = Result(argv, 127, "", f"{argv[0]}: command not found")
        except subprocess.TimeoutExpired:
            result = Result(argv, 124, "", f"timed out after {timeout} s")
        if check and not result.ok:
            tail = _tail(result.stderr) or _tail(result.stdout)
            raise CommandError(step or argv[0], result, shown, self.mask(tail))
        return result

    def spawn(
        self,
        command: Sequence[str | os.PathLike[str]],
        *,
        step: str = "",
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        output: Output = PIPE,
        detach: bool = False,
        mutating: bool = True,
    ) -> Process:
        """Start a long-lived command and return at once; its `lines()` come masked.

        `output`: PIPE, TERMINAL or a log file's path (see `Output`). `detach`: its own process
        group, so Ctrl-C in the terminal spares it and `stop()` ends its children too.
        `mutating=False` marks processes that change nothing (logs -f, watches, port-forwards):
        they start in a dry run too; other ones are printed there, and not started.
        """
        argv = tuple(str(a) for a in command)
        shown = self.describe(argv, env)
        self.history.append(argv)
        if self.dry_run and mutating:
            self.printer(f"[dry-run] {shown}")
            return NoProcess()
        if self.echo:
            self.printer(f"+ {shown}")
        full_env = {**self.base_env, **(env or {})}
        spec = SpawnSpec(argv, full_env, Path(cwd) if cwd else None, output, detach)
        try:
            process = self.spawner(spec)
        except FileNotFoundError:
            missing = Result(argv, 127, "", f"{argv[0]}: command not found")
            raise CommandError(step or argv[0], missing, shown, "") from None
        return MaskedProcess(process, self.mask)
