"""Persistent volumes: a default StorageClass backed by pre-made directories on this host.

No dynamic provisioner runs. `up()` keeps a pool of hostPath PersistentVolumes (world-writable
directories, as Minikube's provisioner makes them, since hostPath ignores fsGroup) that claims
of the default class bind to, and recycles the ones whose claim was deleted (their data goes,
as with a Delete reclaim policy).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from todo_deploy.providers.host.addons import default_class
from todo_deploy.providers.host.layout import Layout

STORAGE_CLASS = "todo-host-local"
POOL_SIZE = 8
VOLUME_SIZE = "10Gi"
POOL_LABEL = "todo-host/volume-pool"


def volume_name(index: int) -> str:
    return f"todo-host-pv-{index:02d}"


def volume_dir(layout: Layout, index: int) -> Path:
    return layout.state / "volumes" / volume_name(index)


def prepare_dirs(layout: Layout) -> None:
    for index in range(POOL_SIZE):
        path = volume_dir(layout, index)
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o777)  # pods run as any uid; hostPath volumes get no fsGroup chown


def objects(layout: Layout) -> list[dict]:
    storage_class = default_class(
        "storage.k8s.io/v1",
        "StorageClass",
        STORAGE_CLASS,
        provisioner="kubernetes.io/no-provisioner",
        volumeBindingMode="WaitForFirstConsumer",
        reclaimPolicy="Retain",
    )
    return [storage_class, *(_volume(layout, i) for i in range(POOL_SIZE))]


def _volume(layout: Layout, index: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": volume_name(index), "labels": {POOL_LABEL: "true"}},
        "spec": {
            "capacity": {"storage": VOLUME_SIZE},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            "hostPath": {"path": str(volume_dir(layout, index)), "type": "Directory"},
        },
    }


def released(volume_list: dict) -> list[str]:
    """Names of pool volumes whose claim is gone (phase Released)."""
    return [
        item["metadata"]["name"]
        for item in volume_list.get("items", [])
        if item.get("status", {}).get("phase") == "Released"
    ]


def wipe(layout: Layout, name: str) -> None:
    index = int(name.rsplit("-", 1)[1])
    path = volume_dir(layout, index)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    path.chmod(0o777)
