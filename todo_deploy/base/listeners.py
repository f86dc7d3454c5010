"""Who listens on a local TCP port: its pid and command, to name in a "port in use" message.

Linux: /proc/net/tcp{,6} gives the listening socket's inode, /proc/<pid>/fd the process that
holds it (root sees every process; a user sees its own). Elsewhere `lsof`, when installed.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from todo_deploy.base.run import Runner

TCP_LISTEN = "0A"


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} ({self.command})" if self.command else f"pid {self.pid}"


def kernel_address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net/tcp{,6} addresses: 32-bit words in host (little-endian) byte order."""
    raw = bytes.fromhex(hex_address)
    host_order = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    found = ipaddress.ip_address(host_order)
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped:
        return found.ipv4_mapped
    return found


def listening_sockets(proc_net: Path = Path("/proc/net")) -> list[tuple[str, int, str]]:
    """(address, port, socket inode) of every listening TCP socket the kernel lists."""
    found = []
    for name in ("tcp", "tcp6"):
        try:
            lines = (proc_net / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == TCP_LISTEN:
                address, port = fields[1].rsplit(":", 1)
                found.append((str(kernel_address(address)), int(port, 16), fields[9]))
    return found


def holders(port: int, runner: Runner | None = None) -> list[Holder]:
    """The processes listening on `port` (any address), as far as this user may see."""
    if Path("/proc/net/tcp").exists():
        inodes = {inode for _, found, inode in listening_sockets() if found == port}
        return _owners(inodes) if inodes else []
    if runner is not None and shutil.which("lsof"):
        return _lsof(runner, port)
    return []


def _owners(inodes: set[str]) -> list[Holder]:
    wanted = {f"socket:[{inode}]" for inode in inodes}
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except OSError:  # gone meanwhile, or another user's
            continue
        if links & wanted:
            found.append(Holder(int(proc.name), _command(proc)))
    return sorted(found, key=lambda h: h.pid)


def _command(proc: Path) -> str:
    try:
        argv = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    return " ".join(a.decode(errors="replace") for a in argv if a)[:160]


def _lsof(runner: Runner, port: int) -> list[Holder]:
    argv = ["lsof", "-nP", f"-iTCP:{port}", "-sTCP:LISTEN", "-Fpc"]
    result = runner.run(argv, step=f"who listens on {port}", check=False, mutating=False)
    found, pid = [], None
    for line in result.stdout.splitlines():
        if line.startswith("p"):
            pid = int(line[1:])
        elif line.startswith("c") and pid is not None:
            found.append(Holder(pid, line[1:]))
    return found
