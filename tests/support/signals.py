"""Ctrl-C for the processes a test starts, as a terminal would deliver it."""

from __future__ import annotations

import os
import signal
import subprocess


def default_sigint() -> None:
    """`preexec_fn` for a child the test will interrupt.

    A test run started in the background inherits SIGINT ignored (POSIX shells do that to
    background jobs), and Python then never raises KeyboardInterrupt: restore the default.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_group(proc: subprocess.Popen, grace: float) -> None:
    """Ctrl-C to a process started in its own session, as a terminal sends it to the whole
    group; killed if it has not exited after `grace` seconds."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
