"""Every kind of cluster the suite knows, each registered once.

`PROVIDERS`: the clusters `--provider NAME` runs. An entry says where the provider's class is
(imported only when it is chosen) and what the config, preflight, the context guard, `auto` and
the help text need to know of it. Adding a provider is its module and one entry here.

`DISTRIBUTIONS`: the local Kubernetes distributions a kubeconfig context can be named after, and
how host-built images get into the nodes of each (for `existing`, and the kind provider's loads).

Plain data: every `invoke` start reads it for the help text, so this module imports neither
pydantic nor yaml (tests/unit/test_startup.py), and its records are named tuples, which cost a
tenth of a frozen dataclass to define. It sits in base, below the providers, because the config
validates names against it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from todo_deploy.base.config import DeployConfig

AUTO = "auto"  # not a provider: providers.choose() picks one
AUTO_HELP = "the running local cluster, else minikube, else host"


class ProviderEntry(NamedTuple):
    name: str  # as in `--provider NAME`; the class's `name` too
    help: str  # one line of `invoke cluster.up --help`
    # "module:Class", imported when chosen; `Class.create(config, runner, tools)` builds it.
    factory: str
    settings: str | None = None  # its section of the config: deploy.<settings>.*
    # False: it uses a cluster someone else made, so the context guard looks at that cluster.
    makes_cluster: bool = True
    # The context of the cluster it manages: `auto` hands that context to it, not to existing.
    own_context: Callable[[DeployConfig], str] | None = None
    tools: tuple[str, ...] = ()  # tools of base/tools.py whose version preflight checks
    # Memory its cluster takes from this machine; None: the stack's requests alone.
    memory_mb: Callable[[DeployConfig], int] | None = None


class Distribution(NamedTuple):
    name: str  # as its users call it
    contexts: tuple[str, ...]  # fnmatch patterns of the context names it writes
    # The argv that copies host images (appended) into its nodes, "{cluster}" standing for the
    # cluster's name; () when its nodes run on the host's own Docker engine; None when there
    # is no such command (the images go through --registry).
    load: tuple[str, ...] | None = None

    def matches(self, context: str) -> bool:
        return any(fnmatch.fnmatchcase(context, pattern) for pattern in self.contexts)

    def cluster(self, context: str) -> str:
        """The cluster's name: the context less its pattern's fixed prefix (kind-dev: dev)."""
        for pattern in self.contexts:
            if pattern.endswith("*") and fnmatch.fnmatchcase(context, pattern):
                return context.removeprefix(pattern.removesuffix("*"))
        return context  # an exact name: minikube's context is its profile

    def load_command(self, context: str, program: str | None = None) -> list[str]:
        """The load command for the cluster of `context` ([] when none is needed), its tool
        given as `program` when that is resolved elsewhere (base/tools.py)."""
        if not self.load:
            return []
        tool, *args = (arg.format(cluster=self.cluster(context)) for arg in self.load)
        return [program or tool, *args]


def kind_context(cluster: str) -> str:
    """The context kind writes for its cluster `cluster`."""
    return f"kind-{cluster}"


PROVIDERS = (
    ProviderEntry(
        "minikube",
        "Minikube with the docker driver, images built in its engine",
        "todo_deploy.providers.minikube:MinikubeProvider",
        settings="minikube",
        tools=("minikube",),
        memory_mb=lambda config: config.minikube.memory_mb,
    ),
    ProviderEntry(
        "kind",
        "a kind cluster it creates, Traefik when it has no ingress",
        "todo_deploy.providers.kind:KindProvider",
        settings="kind",
        own_context=lambda config: kind_context(config.kind.cluster_name),
    ),
    ProviderEntry(
        "existing",
        "the current or --kube-context cluster as it is, never stopped",
        "todo_deploy.providers.existing:ExistingProvider",
        makes_cluster=False,
    ),
    ProviderEntry(
        "host",
        "Kubernetes built from Go modules, run on this Linux host as root",
        "todo_deploy.providers.host:HostProvider",
    ),
)

# In the order `auto` and the guard have always listed them; kind's is the kind provider's too.
DISTRIBUTIONS = (
    Distribution("Minikube", ("minikube",), ("minikube", "image", "load", "-p", "{cluster}")),
    Distribution("Docker Desktop", ("docker-desktop", "docker-for-desktop"), ()),
    Distribution("Rancher Desktop", ("rancher-desktop",), ()),
    Distribution("OrbStack", ("orbstack",)),
    Distribution("colima", ("colima",)),
    Distribution("MicroK8s", ("microk8s",)),
    Distribution("kind", ("kind-*",), ("kind", "load", "docker-image", "--name", "{cluster}")),
    Distribution("k3d", ("k3d-*",), ("k3d", "image", "import", "-c", "{cluster}")),
    Distribution("OpenShift Local", ("crc-*",)),
)


def provider_names() -> tuple[str, ...]:
    return tuple(entry.name for entry in PROVIDERS)


def provider_choices() -> tuple[str, ...]:
    """What `--provider` and deploy.provider accept."""
    return (AUTO, *provider_names())


def choices_text(quote: str = "") -> str:
    """The choices as a sentence lists them: `auto, minikube, kind, existing or host`."""
    return listed(f"{quote}{name}{quote}" for name in provider_choices())


def choices_help() -> str:
    """Each choice with its help: `auto: the running local cluster, ...; minikube: ...`."""
    described = [(AUTO, AUTO_HELP), *((entry.name, _help(entry)) for entry in PROVIDERS)]
    return "; ".join(f"{name}: {text}" for name, text in described)


def _help(entry: ProviderEntry) -> str:
    return f"{entry.help} (deploy.{entry.settings}.*)" if entry.settings else entry.help


def listed(items: Iterable[str]) -> str:
    """`a, b or c`."""
    *rest, last = items
    return f"{', '.join(rest)} or {last}" if rest else last


def provider_entry(name: str) -> ProviderEntry | None:
    return next((entry for entry in PROVIDERS if entry.name == name), None)


def owned_contexts(config: DeployConfig) -> dict[str, str]:
    """Context -> the provider that manages its cluster (kind-todo -> kind), for `auto`."""
    return {e.own_context(config): e.name for e in PROVIDERS if e.own_context is not None}


def distribution(name: str) -> Distribution:
    return next(d for d in DISTRIBUTIONS if d.name == name)


def distribution_of(context: str) -> Distribution | None:
    """The local distribution `context` is named after, if any."""
    return next((d for d in DISTRIBUTIONS if d.matches(context)), None)


def named_local(context: str) -> bool:
    """Named as a local distribution names its context (minikube, kind-*, ...)."""
    return distribution_of(context) is not None
