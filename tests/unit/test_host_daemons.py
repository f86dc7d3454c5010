"""The host cluster's daemons, started for real with start-stop-daemon from a symlinked cache."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from todo_deploy.base.run import Runner
from todo_deploy.providers.host.daemons import Daemon, DaemonError, Supervisor

pytestmark = pytest.mark.skipif(
    shutil.which("start-stop-daemon") is None, reason="start-stop-daemon is Debian's (dpkg)"
)


@pytest.fixture
def linked_cache(tmp_path: Path) -> Path:
    """A cache reached through a symlink, as with a HOME whose ~/.cache links to a shared one."""
    real = tmp_path / "disk" / "cache"
    (real / "bin").mkdir(parents=True)
    shutil.copy2(shutil.which("sleep") or "/bin/sleep", real / "bin" / "todo-test-sleep")
    linked = tmp_path / "home-cache"
    linked.symlink_to(real)
    return linked


@pytest.fixture
def closed_url() -> Iterator[str]:
    # Bound but never listening: connections are refused at once.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/healthz"


def supervisor(tmp_path: Path) -> Supervisor:
    return Supervisor(Runner(), tmp_path / "run", tmp_path / "logs")


def test_a_daemon_started_through_a_symlinked_cache_is_recognised(
    tmp_path: Path, linked_cache: Path
) -> None:
    daemon = Daemon("sleeper", (str(linked_cache / "bin" / "todo-test-sleep"), "60"))
    sup = supervisor(tmp_path)
    assert sup.start(daemon) is True
    try:
        sup.wait_healthy(daemon, timeout=10)
        assert sup.pid(daemon) is not None
        assert sup.start(daemon) is False  # seen as running: not started twice
    finally:
        sup.stop(daemon)
    assert sup.pid(daemon) is None


def test_a_daemon_running_with_other_flags_is_restarted_with_the_new_ones(
    tmp_path: Path, linked_cache: Path
) -> None:
    binary = str(linked_cache / "bin" / "todo-test-sleep")
    sup = supervisor(tmp_path)
    running = Daemon("sleeper", (binary, "60"))
    sup.start(running)
    sup.wait_healthy(running, timeout=10)  # its pid file is written once it has forked
    first = sup.pid(running)
    assert first is not None
    changed = Daemon("sleeper", (binary, "61"))
    try:
        assert sup.start(changed) is True
        sup.wait_healthy(changed, timeout=10)
        second = sup.pid(changed)
        assert second is not None and second != first
        cmdline = Path(f"/proc/{second}/cmdline").read_bytes().split(b"\0")
        assert cmdline[1] == b"61"
        assert sup.start(changed) is False  # the same flags: left running
    finally:
        sup.stop(changed)


def test_a_daemon_that_exits_says_so_with_the_time_it_waited(
    tmp_path: Path, linked_cache: Path, closed_url: str
) -> None:
    # Alive for a moment but never healthy (its health URL is a closed port), then gone.
    daemon = Daemon(
        "quitter", (str(linked_cache / "bin" / "todo-test-sleep"), "0.5"), health_url=closed_url
    )
    sup = supervisor(tmp_path)
    sup.start(daemon)
    started = time.monotonic()
    with pytest.raises(DaemonError) as raised:
        sup.wait_healthy(daemon, timeout=90)
    waited = time.monotonic() - started
    message = str(raised.value)
    assert waited < 10
    assert "quitter: exited" in message and "it had up to 90 s" in message
    assert "waited up to 90 s" not in message
    shown = float(message.split("exited ")[1].split(" s")[0])
    assert abs(shown - waited) < 1.5
