"""Where the host cluster keeps things and which addresses it uses: one place for both.

Every component listens on the bridge gateway address (pods must reach the API server through
the `kubernetes` Service) or on 127.0.0.1; nothing binds the host's outside interfaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from todo_deploy.base import paths, versions

KUBERNETES_VERSION = versions.KUBERNETES
CRI_DOCKERD_VERSION = "v0.3.14"  # v0.4 needs Docker API 1.42; Debian 12 ships 1.41
COREDNS_VERSION = "v1.12.4"
TRAEFIK_VERSION = "v3.6.12"
# NetworkPolicy enforcement (the bridge CNI has none); v0.8.0 is the newest the proxy serves.
KUBE_NETWORK_POLICIES_VERSION = "v0.8.0"

NODE_NAME = "todo-host"
CONTEXT = "todo-host"
BRIDGE = "todo0"
POD_CIDR = "10.88.0.0/16"
NODE_IP = "10.88.0.1"  # the bridge gateway: API server, kubelet and pods' default route
SERVICE_CIDR = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
API_PORT = 6443
ETCD_PORT = 2379
KUBELET_PORT = 10250
INGRESS_PORT = 80

PAUSE_IMAGE = "todo-host/pause:3.10"
COREDNS_IMAGE = f"todo-host/coredns:{COREDNS_VERSION}"
DOCKER_SOCKET = "/var/run/docker.sock"


class _InState:
    """A path inside the layout's state folder, read as an attribute (`layout.pki`)."""

    def __init__(self, *parts: str):
        self.parts = parts

    def __get__(self, layout: Layout, owner: type | None = None) -> Path:
        return layout.state.joinpath(*self.parts)


@dataclass(frozen=True)
class Layout:
    """Paths of one host cluster: state (deleted by `down(delete=True)`) and build cache (kept)."""

    state: Path
    cache: Path

    pki = _InState("pki")
    kubeconfigs = _InState("kubeconfig")
    admin_kubeconfig = _InState("kubeconfig", "admin.conf")
    run = _InState("run")  # pid files and sockets
    cri_socket = _InState("run", "cri-dockerd.sock")
    logs = _InState("logs")
    config = _InState("config")
    cni_conf = _InState("cni", "net.d")
    ipam_leases = _InState("cni", "leases")

    @classmethod
    def default(cls) -> Layout:
        return cls(state=paths.host_state_dir(), cache=paths.cache_root() / "host")

    @property
    def bin(self) -> Path:
        """Every built binary, per pinned version set, so a second `up` never rebuilds."""
        return self.cache / f"bin-{KUBERNETES_VERSION}"

    def binary(self, name: str) -> Path:
        return self.bin / name
