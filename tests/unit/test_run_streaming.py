"""The Runner's streaming modes keep its masking: live lines and spawned processes."""

from __future__ import annotations

import sys

import pytest

from todo_deploy.base.run import CommandError, Runner

SECRET = "hunter2-very-secret"
PRINTS = f"import sys; print('a {SECRET}'); print('b', file=sys.stderr); print('c')"


def test_a_listener_gets_each_line_masked_and_the_result_keeps_the_output() -> None:
    seen: list[str] = []
    runner = Runner(listener=seen.append)
    runner.add_secrets([SECRET])
    result = runner.run([sys.executable, "-c", PRINTS], step="print")
    assert sorted(seen) == ["a ******", "b", "c"]
    assert result.stdout == f"a {SECRET}\nc\n" and result.stderr == "b\n"


def test_streaming_honours_stdin_timeout_and_failure() -> None:
    seen: list[str] = []
    runner = Runner(listener=seen.append)
    echo = "import sys; print(sys.stdin.read().upper())"
    assert runner.run([sys.executable, "-c", echo], stdin="fed").stdout == "FED\n"
    slow = runner.run(
        [sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.5, check=False
    )
    assert slow.returncode == 124
    with pytest.raises(CommandError) as failure:
        runner.run([sys.executable, "-c", "import sys; print('why'); sys.exit(3)"], step="s")
    assert failure.value.result.returncode == 3 and "why" in failure.value.block()


def test_spawned_lines_are_masked_and_the_process_stops() -> None:
    printed: list[str] = []
    runner = Runner(echo=True, printer=printed.append)
    runner.add_secrets([SECRET])
    stream = runner.spawn([sys.executable, "-c", PRINTS])
    assert sorted(stream.lines()) == ["a ******", "b", "c"]
    assert printed and SECRET not in printed[0]  # the echo is masked too
    forever = runner.spawn([sys.executable, "-c", "import time; time.sleep(60)"])
    forever.stop()
    assert forever.poll() is not None


def test_spawning_a_missing_program_is_one_clear_error() -> None:
    with pytest.raises(CommandError) as failure:
        Runner().spawn(["no-such-program-here"], step="logs")
    assert "command not found" in str(failure.value.result.stderr)


def test_reads_are_not_streamed() -> None:
    seen: list[str] = []
    runner = Runner(listener=seen.append)
    runner.run([sys.executable, "-c", "print('{\"items\": []}')"], mutating=False)
    assert seen == []
