"""What must hold before the host cluster starts; each problem says how to fix it."""

from __future__ import annotations

import ipaddress
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

from todo_deploy.base.listeners import listening_sockets
from todo_deploy.providers.host.layout import (
    API_PORT,
    ETCD_PORT,
    INGRESS_PORT,
    KUBELET_PORT,
    NODE_IP,
)

# Port -> the daemon of ours that owns it (a port held by our own daemon is no problem).
PORTS = {
    API_PORT: "kube-apiserver",
    ETCD_PORT: "etcd",
    ETCD_PORT + 1: "etcd",
    KUBELET_PORT: "kubelet",
    INGRESS_PORT: "traefik",
}
# Addresses where a listener stops ours from binding: ours, and the wildcards.
CLASHING = {ipaddress.ip_address(a) for a in ("127.0.0.1", NODE_IP, "0.0.0.0", "::")}


@dataclass(frozen=True)
class Facts:
    """The machine as preflight sees it; `gather()` reads the real one."""

    system: str
    euid: int
    has_go: bool
    needs_build: bool
    has_apt: bool
    listening: frozenset[int]
    cgroup_v1_memory: bool


def listening_ports(proc_net: Path = Path("/proc/net")) -> frozenset[int]:
    """TCP ports with a listener where ours would bind: 127.0.0.1, the node IP or a wildcard.

    A listener on another address (kind's 127.0.0.2:80, say) does not stop ours binding.
    """
    return frozenset(
        port
        for address, port, _ in listening_sockets(proc_net)
        if ipaddress.ip_address(address) in CLASHING
    )


def gather(needs_build: bool) -> Facts:
    return Facts(
        system=platform.system(),
        euid=os.geteuid() if hasattr(os, "geteuid") else -1,
        has_go=shutil.which("go") is not None,
        needs_build=needs_build,
        has_apt=shutil.which("apt-get") is not None,
        listening=listening_ports(),
        cgroup_v1_memory=Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists()
        or Path("/sys/fs/cgroup/cgroup.controllers").exists(),
    )


def problems(facts: Facts, running: set[str]) -> list[str]:
    """Every problem found; `running` names our daemons already up (their ports are fine)."""
    if facts.system != "Linux":
        return [f"the host provider runs Kubernetes on Linux only (this is {facts.system})"]
    found = []
    if facts.euid != 0:
        found.append("the host provider must run as root (it manages iptables, a bridge, mounts)")
    if facts.needs_build and not facts.has_go:
        found.append("no Go toolchain on PATH: install Go >= 1.24 (https://go.dev/dl/) to build")
    if not facts.has_apt:
        found.append("apt-get not found: the host provider installs Debian packages (Debian only)")
    if not facts.cgroup_v1_memory:
        found.append("no memory cgroup under /sys/fs/cgroup: the kubelet cannot run pods")
    for port, owner in sorted(PORTS.items()):
        if port in facts.listening and owner not in running:
            found.append(
                f"TCP port {port} is in use (needed by {owner}): stop what listens there "
                f"(`ss -ltnp 'sport = :{port}'`)"
            )
    return found
