"""Cluster providers and the choice between them.

`auto` prefers what the user already runs: (a) the current kubeconfig context when it is a
local cluster that answers, (b) else Minikube when installed, (c) else, as root on Linux, the
single-node `host` cluster, announced first because its first build takes a long while.
"""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import yaml

from todo_deploy.base.clusters import (
    ProviderEntry,
    choices_text,
    named_local,
    owned_contexts,
    provider_entry,
)
from todo_deploy.base.config import DeployConfig
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.providers.base import Provider, ProviderClass

PROBE_SECONDS = 1.0
HOST_FIRST_BUILD = "about 15-30 min on 2 cores"
ALTERNATIVES = (
    "make a running kind, k3d, Docker Desktop, Rancher Desktop, OrbStack or colima cluster the "
    "current kubeconfig context (used as it is), or install Minikube "
    "(https://minikube.sigs.k8s.io/docs/start/)"
)


class ProviderError(RuntimeError):
    pass


@dataclass(frozen=True)
class KubeContext:
    name: str
    server: str  # the API server's URL


@dataclass(frozen=True)
class Choice:
    name: str
    why: str
    notice: list[str] = field(default_factory=list)  # printed before anything starts


def current_context(env: Mapping[str, str] = os.environ) -> KubeContext | None:
    """The kubeconfig's current context, read as kubectl merges KUBECONFIG (first one wins)."""
    files = env.get("KUBECONFIG", "").split(os.pathsep) if env.get("KUBECONFIG") else []
    files = [f for f in files if f] or [str(Path.home() / ".kube" / "config")]
    current: str | None = None
    contexts: dict[str, dict] = {}
    clusters: dict[str, dict] = {}
    for path in files:
        try:
            doc = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        current = current or doc.get("current-context")
        for item in doc.get("contexts") or []:
            contexts.setdefault(item.get("name"), item.get("context") or {})
        for item in doc.get("clusters") or []:
            clusters.setdefault(item.get("name"), item.get("cluster") or {})
    if not current or current not in contexts:
        return None
    cluster = clusters.get(str(contexts[current].get("cluster")), {})
    return KubeContext(current, str(cluster.get("server", "")))


def is_local(context: KubeContext) -> bool:
    return named_local(context.name)


def server_answers(server: str, timeout: float = PROBE_SECONDS) -> bool:
    """True when the API server's address accepts a TCP connection (no request is sent)."""
    url = urlsplit(server)
    if not url.hostname:
        return False
    # k3d writes https://0.0.0.0:PORT: the wildcard means this machine.
    host = "127.0.0.1" if url.hostname in ("0.0.0.0", "::") else url.hostname
    try:
        with socket.create_connection((host, url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def _linux_root() -> bool:
    return platform.system() == "Linux" and os.geteuid() == 0


def host_plan() -> list[str]:
    """What the host provider will build before it can start, and how long that takes."""
    from todo_deploy.providers.host import build
    from todo_deploy.providers.host.layout import KUBERNETES_VERSION, Layout

    missing = build.missing_binaries(Layout.default())
    if not missing:
        return [f"host: Kubernetes {KUBERNETES_VERSION} is built; it starts in about a minute"]
    return [
        f"host: builds a single-node Kubernetes {KUBERNETES_VERSION} on this machine from Go "
        f"modules first ({', '.join(missing)}): {HOST_FIRST_BUILD} the first time, cached "
        "afterwards (later starts take about a minute)",
    ]


def choose(
    requested: str,
    *,
    context: Callable[[], KubeContext | None] = current_context,
    answers: Callable[[str], bool] = server_answers,
    which: Callable[[str], str | None] = shutil.which,
    is_linux_root: Callable[[], bool] = _linux_root,
    plan: Callable[[], list[str]] = host_plan,
    owners: Mapping[str, str] | None = None,
) -> Choice:
    """Resolve `auto` to a provider; says why, and what `host` will build before it does.

    `owners`: the contexts registered providers manage, each to its provider (owned_contexts):
    kind's own cluster goes to the kind provider, any other kind cluster is used as it is.
    """
    if requested != "auto":
        return Choice(requested, "requested")
    ctx = context()
    skipped = ""
    if ctx and is_local(ctx):
        if answers(ctx.server):
            owner = (owners or {}).get(ctx.name)
            if owner:
                return Choice(owner, f"auto: the current context {ctx.name} is the {owner} cluster")
            return Choice("existing", f"auto: the current context {ctx.name} is a local cluster")
        skipped = f"the current context {ctx.name} does not answer at {ctx.server}; "
    if which("minikube"):
        return Choice("minikube", f"auto: {skipped}minikube is installed")
    if is_linux_root():
        why = f"auto: {skipped}no local cluster context and no minikube; root on Linux"
        alternatives = f"alternatives: {ALTERNATIVES}; `--provider host` skips this notice"
        return Choice("host", why, [*plan(), alternatives])
    raise ProviderError(
        f"provider auto found no cluster to use ({skipped or 'no local cluster context, '}"
        f"no minikube): {ALTERNATIVES}; or run as root on Linux for --provider host"
    )


def provider_class(entry: ProviderEntry) -> ProviderClass:
    """The class an entry names, imported now: only the chosen provider's module is loaded."""
    module, _, name = entry.factory.partition(":")
    return cast(ProviderClass, getattr(importlib.import_module(module), name))


def get_provider(config: DeployConfig, runner: Runner, tools: Tools | None = None) -> Provider:
    """The provider `config` asks for (or `auto` picks), with the tools it runs."""
    choice = choose(config.provider, owners=owned_contexts(config))
    entry = provider_entry(choice.name)
    if entry is None:  # the config refuses unknown names; a caller may have skipped it
        raise ProviderError(f"no provider {choice.name!r}: choose {choices_text()}")
    runner.printer(f"provider: {choice.name} ({choice.why})")
    for line in choice.notice:
        runner.printer(f"  {line}")
    return provider_class(entry).create(config, runner, tools or Tools(runner))
