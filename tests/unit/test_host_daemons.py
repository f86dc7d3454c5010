"""The host cluster's daemons, started for real with start-stop-daemon from a symlinked cache."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from todo_deploy.providers.host.daemons import Daemon, DaemonError, Supervisor
from todo_deploy.run import Runner

pytestmark = pytest.mark.skipif(
    shutil.which("start-stop-daemon") is None, reason="start-stop-daemon is Debian's (dpkg)"
)


@pytest.fixture
def linked_cache(tmp_path: Path) -> Path:
    """A cache reached through a symlink, as with a HOME whose ~/.cache links to a shared one."""
    real = tmp_path / "disk" / "cache"
    (real / "bin").mkdir(parents=True)
    for name in ("sleep", "false"):
        shutil.copy2(shutil.which(name) or f"/bin/{name}", real / "bin" / f"todo-test-{name}")
    linked = tmp_path / "home-cache"
    linked.symlink_to(real)
    return linked


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


def test_a_daemon_that_exits_says_so_with_the_time_it_waited(
    tmp_path: Path, linked_cache: Path
) -> None:
    daemon = Daemon("quitter", (str(linked_cache / "bin" / "todo-test-false"),))
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
