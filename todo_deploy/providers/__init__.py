"""Cluster providers and the choice between them."""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Callable

from todo_deploy.config import DeployConfig
from todo_deploy.providers.base import Provider
from todo_deploy.run import Runner


class ProviderError(RuntimeError):
    pass


def choose(
    requested: str,
    *,
    which: Callable[[str], str | None] = shutil.which,
    is_linux_root: Callable[[], bool] = lambda: platform.system() == "Linux" and os.geteuid() == 0,
) -> tuple[str, str]:
    """Resolve `auto` to a provider name; returns (name, why)."""
    if requested != "auto":
        return requested, "requested"
    if which("minikube"):
        return "minikube", "auto: minikube is installed"
    if is_linux_root():
        return "host", "auto: no minikube; root on Linux, so the single-node host cluster"
    raise ProviderError(
        "provider auto found no way to run a cluster: install Minikube "
        "(https://minikube.sigs.k8s.io/docs/start/), or use --provider existing with a "
        "kubeconfig context, or run as root on Linux for --provider host"
    )


def get_provider(config: DeployConfig, runner: Runner, kubectl: str = "kubectl") -> Provider:
    name, why = choose(config.provider)
    runner.printer(f"provider: {name} ({why})")
    if name == "minikube":
        from todo_deploy.providers.minikube import MinikubeProvider

        return MinikubeProvider(config, runner, kubectl)
    if name == "kind":
        from todo_deploy.providers.kind import KindProvider

        return KindProvider(config, runner, kubectl)
    if name == "existing":
        from todo_deploy.providers.existing import ExistingProvider

        return ExistingProvider(config, runner, kubectl)
    from todo_deploy.providers.host import HostProvider

    return HostProvider(config, runner)
