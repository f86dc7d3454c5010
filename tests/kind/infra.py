"""What CI gives the normal user before it runs kind here, offline (tests/support/kind).

A laptop has these already: kind, helm and kubectl installed, kind's own node image and the
upstream Traefik image a registry away. Here they are built from Go modules, once, cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.kind import addons, gobuild, network, nodeimage, registry, runtime
from todo_deploy.base.engine import DockerCli, ensure_engine
from todo_deploy.base.kube import Kube
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools


@dataclass(frozen=True)
class KindCI:
    kind: Path
    helm: Path
    kubectl: Path
    node_image: str
    cluster_config: dict[str, Any]  # merged into the provider's kind config (kind.config_file)


@dataclass(frozen=True)
class Registry:
    address: str  # what images are pushed as, e.g. localhost:5001
    endpoint: str  # where the nodes' containerd pulls them from


def prepare(runner: Runner) -> KindCI:
    """Idempotent; cheap when everything is cached (root)."""
    docker = DockerCli(runner)
    ensure_engine(runner)
    runtime.ensure_runtime(runner)
    network.guard(runner)
    kind = gobuild.ensure_program(runner, gobuild.KIND)
    node_image = nodeimage.ensure_node_image(docker)
    addons.ensure_addon_images(docker)  # Traefik: the provider loads it from the host's engine
    # The pinned helm and kubectl (fetched once by root) stand in for the ones a user installed.
    tools = Tools(runner, prefer_path=False)
    # kindnetd's image cannot be had offline: the node image brings a static CNI config.
    config = {"networking": {"disableDefaultCNI": True, "podSubnet": nodeimage.POD_SUBNET}}
    return KindCI(kind, Path(tools.helm), Path(tools.kubectl), node_image, config)


def ensure_registry(runner: Runner) -> Registry:
    """The registry container, on the `kind` network once a cluster made it (kind's recipe)."""
    registry.start(DockerCli(runner))
    return Registry(registry.ADDRESS, registry.endpoint_in_cluster())


def enforce_network_policies(kube: Kube, cluster: str) -> None:
    """kube-network-policies as a DaemonSet: the CNI config here enforces nothing itself."""
    kubeconfig = kube.runner.base_env.get("KUBECONFIG")
    addons.install_network_policies(
        kube.runner,
        cluster_name=cluster,
        context=str(kube.context),
        kubectl=kube.kubectl,
        kubeconfig=Path(kubeconfig) if kubeconfig else None,
    )
