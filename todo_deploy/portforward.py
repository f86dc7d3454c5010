"""`kubectl port-forward` as a background process bound to a free loopback port.

The Runner waits for commands to finish, so this long-running one is started here; its argv
is still echoed through the Runner's masking.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from todo_deploy.kube import Kube, wait_until


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepting(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def port_forward_argv(kube: Kube, target: str, local: int, remote: int) -> list[str]:
    return kube.argv("port-forward", "--address", "127.0.0.1", target, f"{local}:{remote}")


@contextmanager
def port_forward(kube: Kube, target: str, remote: int, timeout: float = 20) -> Iterator[int]:
    """Yield the local port forwarding to `target`'s `remote` port; stop the process after."""
    local = free_loopback_port()
    argv = port_forward_argv(kube, target, local, remote)
    if kube.runner.echo:
        kube.runner.printer(f"+ {kube.runner.describe(argv)}")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        if not wait_until(
            lambda: proc.poll() is None and _accepting(local), timeout=timeout, interval=0.3
        ):
            error = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
            raise RuntimeError(f"port-forward to {target} did not start: {error.strip()}")
        yield local
    finally:
        proc.terminate()
        proc.wait(timeout=10)
