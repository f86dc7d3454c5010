"""Every kind of cluster the suite knows, each registered once.

`PROVIDERS`: the clusters `--provider NAME` runs. An entry says where the provider's class is
(imported only when it is chosen) and what the rest of the suite needs to know of it. Adding a
provider is its module and one entry here.

Plain data in base, below the providers, because the config validates names against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from todo_deploy.base.config import DeployConfig

AUTO = "auto"  # not a provider: providers.choose() picks one


class ProviderEntry(NamedTuple):
    name: str  # as in `--provider NAME`; the class's `name` too
    # "module:Class", imported when chosen; `Class.create(config, runner, tools)` builds it.
    factory: str
    # The context of the cluster it manages: `auto` hands that context to it, not to existing.
    own_context: Callable[[DeployConfig], str] | None = None


def kind_context(cluster: str) -> str:
    """The context kind writes for its cluster `cluster`."""
    return f"kind-{cluster}"


PROVIDERS = (
    ProviderEntry(
        "minikube",
        "todo_deploy.providers.minikube:MinikubeProvider",
    ),
    ProviderEntry(
        "kind",
        "todo_deploy.providers.kind:KindProvider",
        own_context=lambda config: kind_context(config.kind.cluster_name),
    ),
    ProviderEntry(
        "existing",
        "todo_deploy.providers.existing:ExistingProvider",
    ),
    ProviderEntry(
        "host",
        "todo_deploy.providers.host:HostProvider",
    ),
)


def provider_names() -> tuple[str, ...]:
    return tuple(entry.name for entry in PROVIDERS)


def provider_choices() -> tuple[str, ...]:
    """What `--provider` and deploy.provider accept."""
    return (AUTO, *provider_names())


def choices_text(quote: str = "") -> str:
    """The choices as a sentence lists them: `auto, minikube, kind, existing or host`."""
    return listed(f"{quote}{name}{quote}" for name in provider_choices())


def listed(items: Iterable[str]) -> str:
    """`a, b or c`."""
    *rest, last = items
    return f"{', '.join(rest)} or {last}" if rest else last


def provider_entry(name: str) -> ProviderEntry | None:
    return next((entry for entry in PROVIDERS if entry.name == name), None)


def owned_contexts(config: DeployConfig) -> dict[str, str]:
    """Context -> the provider that manages its cluster (kind-todo -> kind), for `auto`."""
    return {e.own_context(config): e.name for e in PROVIDERS if e.own_context is not None}
