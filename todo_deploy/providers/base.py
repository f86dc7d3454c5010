"""The provider Protocol: everything the deploy flow asks of a cluster, and nothing more.

A provider (minikube, existing, host, kind, ...) is a class with these attributes and methods,
registered in base/clusters.py; `providers.get_provider` builds one with its `create`. The flow
never reads anything else of it and never changes its state: what it learns by starting the
cluster comes back from `up()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from todo_deploy.base.config import DeployConfig
    from todo_deploy.base.run import Runner
    from todo_deploy.base.tools import Tools


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    components: dict[str, str] = field(default_factory=dict)  # name -> "ok" or what is wrong


@dataclass(frozen=True)
class ClusterFacts:
    """What the flow needs from a started cluster."""

    ingress_class: str  # the IngressClass its controller serves, e.g. "nginx", "traefik"
    # The host port people reach the ingress on when it is not the scheme's own (kind mapping
    # the node's :80 to :8080): the app's public URL, which sign-in checks origins against.
    public_port: int = 0
    # Warnings for the deploy report about the cluster as configured, which do not stop the
    # deploy (e.g. a network plugin that ignores NetworkPolicy).
    notes: tuple[str, ...] = ()
    # False when the cluster runs no ingress controller (a kind cluster made with defaults):
    # the app is then reached through a port-forward, not through `ingress_class`.
    has_ingress: bool = True
    # The controller is Traefik serving its CRDs: the chart adds a body-limit Middleware.
    traefik_middleware: bool = False
    # Who the front end and back end admit as the ingress controller (NetworkPolicy peers,
    # see providers.ingress_peers); empty: a controller on the node; None: the chart's default.
    ingress_peers: tuple[dict[str, Any], ...] | None = None


@dataclass(frozen=True)
class IngressAccess:
    """How the host reaches the cluster's ingress: base URL plus the Host header to send."""

    url: str  # e.g. "http://127.0.0.1:80"
    host: str  # e.g. "todo.local"
    hosts_line: str  # the /etc/hosts line a user adds, e.g. "127.0.0.1 todo.local"
    reachable: bool = True  # False: no ingress controller serves it (use a port-forward)


class Provider(Protocol):
    name: str  # as in `--provider NAME`
    kube_context: str  # the kubeconfig context of its cluster, known before `up()`
    # True when every change it makes goes through the Runner, so a dry run may call
    # up()/down()/load_images() (they print instead of changing). Else the flow describes them.
    dry_run_safe: bool

    def preflight(self) -> list[str]:
        """Every missing prerequisite, each with how to fix it; empty when ready."""
        ...

    def up(self) -> ClusterFacts:
        """Start the cluster (idempotent), wait until it and its ingress are ready; its facts."""
        ...

    def planned(self) -> ClusterFacts:
        """The facts `up()` would return, without touching the cluster (dry run)."""
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

    def ingress(self, host: str) -> IngressAccess:
        """Where the ingress listens, for requests to the app's `host` name."""
        ...

    def status(self) -> ClusterStatus: ...


class ProviderClass(Protocol):
    """A registered provider's class: built from what every task has, taking the tools it runs."""

    def create(self, config: DeployConfig, runner: Runner, tools: Tools) -> Provider: ...
