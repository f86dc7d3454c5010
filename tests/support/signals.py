"""Ctrl-C for the processes a test starts, as a terminal would deliver it."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """`preexec_fn` for a child the test will interrupt.

    A test run started in the background inherits SIGINT ignored (POSIX shells do that to
    background jobs), and Python then never raises KeyboardInterrupt: restore the default.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
