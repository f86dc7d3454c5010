"""The Runner's streaming modes keep its masking: live lines and spawned processes; a spawn
honours its folder, environment, log file, process group and the dry run."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest

from todo_deploy.base.kube import wait_until
from todo_deploy.base.run import CommandError, Runner, detach_options

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


def test_a_spawned_process_runs_in_its_folder_with_its_environment(tmp_path: Path) -> None:
    shows = "import os; print(os.getcwd(), os.environ['GREETING'])"
    process = Runner().spawn([sys.executable, "-c", shows], cwd=tmp_path, env={"GREETING": "hi"})
    assert list(process.lines()) == [f"{tmp_path} hi"]
    assert process.wait(timeout=10) == 0
    ran = Runner().run([sys.executable, "-c", "import os; print(os.getcwd())"], cwd=tmp_path)
    assert ran.stdout.strip() == str(tmp_path)


def test_a_detached_process_logs_to_its_file_and_stop_ends_its_children(tmp_path: Path) -> None:
    log = tmp_path / "daemon.log"
    log.write_text("earlier run\n")
    # A shell with a child of its own, as npm runs next: stopping the shell must end both.
    script = f"echo started; {shlex.quote(sys.executable)} -c 'import time; time.sleep(60)' & wait"
    process = Runner().spawn(["sh", "-c", script], output=log, detach=True)
    pid = process.pid
    assert pid and os.getpgid(pid) == pid  # a group of its own
    assert wait_until(lambda: "started" in log.read_text(), timeout=10, interval=0.05)
    assert wait_until(lambda: _group_members(pid) == 2, timeout=10, interval=0.05)
    process.stop(grace=5)
    assert wait_until(lambda: _group_members(pid) == 0, timeout=10, interval=0.05)
    assert log.read_text() == "earlier run\nstarted\n"  # appended, never truncated
    assert list(process.lines()) == []  # its output went to the file


def _group_members(group: int) -> int:
    listing = Runner().run(["ps", "-A", "-o", "pgid=,stat="], mutating=False).stdout
    return sum(
        1 for line in listing.splitlines() if line.split()[0] == str(group) and "Z" not in line
    )


def test_a_dry_run_starts_no_changing_process_and_shows_it_masked() -> None:
    printed: list[str] = []
    runner = Runner(dry_run=True, echo=True, printer=printed.append)
    runner.add_secrets([SECRET])
    started = runner.spawn(["touch", "/nonexistent/x"], env={"TOKEN": SECRET})
    assert printed == ["[dry-run] TOKEN=****** touch /nonexistent/x"]
    assert started.pid is None and started.poll() == 0 and list(started.lines()) == []
    reads = runner.spawn([sys.executable, "-c", f"print('{SECRET}')"], mutating=False)
    assert list(reads.lines()) == ["******"]  # a read runs in a dry run too, and is echoed
    assert printed[1].startswith("+ ") and SECRET not in printed[1]


def test_a_detached_process_has_its_own_group_on_each_os() -> None:
    # Windows: a new process group without a console; elsewhere a group in the same session.
    assert detach_options(windows=True) == {"creationflags": 0x00000200 | 0x00000008}
    assert detach_options(windows=False) == {"process_group": 0}
