"""The one place external commands run.

Every command of the suite goes through a `Runner`: argv lists only (no shell), an explicit
environment, secret masking in every echo and error, timing, dry-run and one clear error block
on failure. Tests swap in a runner with a fake `execute`.

Two streaming modes keep the masking: a `listener` receives each output line of every command
while it runs (live progress), and `spawn` starts a long-lived process (logs -f, port-forward)
whose lines are read as they come.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Protocol

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
    """Runs argv to completion; with `on_line`, also hands over each output line as it comes."""

    def __call__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        timeout: float | None,
        stdin: str | None,
        on_line: LineSink | None = None,
    ) -> Result: ...


def subprocess_execute(
    argv: Sequence[str],
    env: Mapping[str, str],
    timeout: float | None,
    stdin: str | None,
    on_line: LineSink | None = None,
) -> Result:
    started = time.monotonic()
    if on_line is None:
        proc = subprocess.run(
            list(argv),
            env=dict(env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        seconds = time.monotonic() - started
        return Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr, seconds)
    return _execute_streaming(argv, env, timeout, stdin, on_line, started)


def _execute_streaming(
    argv: Sequence[str],
    env: Mapping[str, str],
    timeout: float | None,
    stdin: str | None,
    on_line: LineSink,
    started: float,
) -> Result:
    proc = subprocess.Popen(
        list(argv),
        env=dict(env),
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


class Stream(Protocol):
    """A long-lived process read line by line (stdout and stderr merged)."""

    def lines(self) -> Iterator[str]: ...

    def poll(self) -> int | None: ...

    def stop(self) -> None: ...


class PopenStream:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str]):
        self.proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )

    def lines(self) -> Iterator[str]:
        for line in self.proc.stdout or ():
            yield line.rstrip("\n")

    def poll(self) -> int | None:
        return self.proc.poll()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


Spawner = Callable[[Sequence[str], Mapping[str, str]], Stream]


@dataclass
class MaskedStream:
    """What `Runner.spawn` returns: the process's lines with every secret masked."""

    stream: Stream
    mask: Callable[[str], str]

    def lines(self) -> Iterator[str]:
        for line in self.stream.lines():
            yield self.mask(line)

    def poll(self) -> int | None:
        return self.stream.poll()

    def stop(self) -> None:
        self.stream.stop()


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
    spawner: Spawner = PopenStream
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
        check: bool = True,
        timeout: float | None = None,
        stdin: str | None = None,
        mutating: bool = True,
    ) -> Result:
        """Run `argv`; `env` is added to the base environment and shown (masked) in echoes.

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
        try:
            if listener is None:
                result = self.execute(argv, full_env, timeout, stdin)
            else:
                result = self.execute(
                    argv, full_env, timeout, stdin, lambda line: listener(self.mask(line))
                )
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
    ) -> MaskedStream:
        """Start a long-lived command (logs -f, port-forward); its lines come masked."""
        argv = tuple(str(a) for a in command)
        self.history.append(argv)
        if self.echo:
            self.printer(f"+ {self.describe(argv, env)}")
        try:
            stream = self.spawner(argv, {**self.base_env, **(env or {})})
        except FileNotFoundError:
            missing = Result(argv, 127, "", f"{argv[0]}: command not found")
            raise CommandError(step or argv[0], missing, self.describe(argv, env), "") from None
        return MaskedStream(stream, self.mask)
