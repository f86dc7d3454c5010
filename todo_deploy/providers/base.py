"""What every cluster provider offers the deploy flow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    components: dict[str, str] = field(default_factory=dict)  # name -> "ok" or what is wrong


@dataclass(frozen=True)
class IngressAccess:
    """How the host reaches the cluster's ingress: base URL plus the Host header to send."""

    url: str  # e.g. "http://127.0.0.1:80"
    host: str  # e.g. "todo.local"
    hosts_line: str  # the /etc/hosts line a user adds, e.g. "127.0.0.1 todo.local"


class Provider(Protocol):
    name: str
    kube_context: str
    ingress_class_name: str  # the IngressClass this cluster's controller serves

    def preflight(self) -> list[str]:
        """Every missing prerequisite, each with how to fix it; empty when ready."""
        ...

    def up(self) -> None:
        """Start the cluster (idempotent) and wait until it and its ingress are ready."""
        ...

    def down(self, delete: bool = False) -> None:
        """Stop the cluster (idempotent); `delete` removes its state too."""
        ...

    def docker_env(self) -> dict[str, str]:
        """Environment that points a Docker client at the engine the cluster's kubelet uses."""
        ...

    def load_images(self, refs: list[str]) -> None:
        """Make host-built images visible to the cluster (no-op when they share an engine)."""
        ...

    def ingress(self) -> IngressAccess: ...

    def status(self) -> ClusterStatus: ...
