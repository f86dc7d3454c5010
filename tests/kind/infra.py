"""What CI gives the normal user before it runs kind here, offline (tests/support/kind).

A laptop has these already: kind, helm and kubectl installed, kind's own node image and the
upstream Traefik image a registry away. Here they are built from Go modules, once, cached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.kind import addons, gobuild, network, nodeimage, registry, runtime
from todo_deploy.engine import DockerCli, ensure_engine
from todo_deploy.kube import Kube
from todo_deploy.run import Runner
from todo_deploy.tools import Tools


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
        kube.runner, cluster_name=cluster, context=str(kube.context), kubectl=kube.kubectl,
        kubeconfig=Path(kubeconfig) if kubeconfig else None,
    )  # fmt: skip


VOLUMES_DIR = "/var/local-volumes"  # /var is the node's own volume: it lives as long as the node
VOLUME_CLASS = "todo-local"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
IN_TREE_HOST_PATH = "kubernetes.io/host-path"  # kind's fallback when its image has no manifest


def provide_volumes(kube: Kube, node: str, count: int = 4) -> None:
    """World-writable local volumes as the default StorageClass, where kind fell back to its
    in-tree host-path class.

    On a laptop kind's node image brings local-path-provisioner, whose folders any pod user may
    write. The offline node image has none, so kind falls back to the in-tree host-path
    provisioner, whose folders are root's: a non-root PostgreSQL cannot write there. A pool of
    pre-made volumes stands in (as the host provider's does).
    """
    standard = kube.get_json("storageclass", "standard", step="kind's class", namespaced=False)
    if (standard or {}).get("provisioner") != IN_TREE_HOST_PATH:
        return  # a node image with kind's local-path provisioner: nothing to stand in for
    names = [f"pv-{i}" for i in range(count)]
    paths = " ".join(f"{VOLUMES_DIR}/{name}" for name in names)
    kube.runner.run(["docker", "exec", node, "sh", "-c", f"mkdir -p {paths} && chmod 0777 {paths}"],
                    step="volume folders")  # fmt: skip
    kube.run("patch", "storageclass", "standard", "-p",
             json.dumps({"metadata": {"annotations": {DEFAULT_CLASS: "false"}}}),
             step="kind's class not default", namespaced=False)  # fmt: skip
    storage_class = {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": VOLUME_CLASS, "annotations": {DEFAULT_CLASS: "true"}},
        "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer",
    }  # fmt: skip
    volumes = [
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"{node}-{name}"},
         "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                  "storageClassName": VOLUME_CLASS, "persistentVolumeReclaimPolicy": "Delete",
                  "hostPath": {"path": f"{VOLUMES_DIR}/{name}", "type": "Directory"},
                  "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                      {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}}}
        for name in names
    ]  # fmt: skip
    kube.apply({"apiVersion": "v1", "kind": "List", "items": [storage_class, *volumes]},
               step="local volumes")  # fmt: skip
