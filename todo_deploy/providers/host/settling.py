"""The host cluster's last settled state: what a warm `up()` need not assert again.

A full `up()` re-asserts the node's network, its pause and CoreDNS images, the kubeconfig
entry, the add-ons and Traefik's CRDs: about twenty commands, two seconds of every deploy.
None of them changes between two `up()`s of one boot unless its input did. `record()` keeps a
fingerprint of those inputs after an `up()` that reached Ready; `holds()` is true while the
fingerprint is unchanged and the live checks pass: the bridge is there, the pod filter still
hooked into FORWARD (a firewall reload drops it), both images present, the kubeconfig entry
in place. `down()` forgets it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from todo_deploy.base.run import Runner
from todo_deploy.providers.host import images, network
from todo_deploy.providers.host.layout import CONTEXT, COREDNS_IMAGE, PAUSE_IMAGE, Layout

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


class Settled:
    def __init__(self, layout: Layout, manifest: dict[str, Any], runner: Runner, kubeconfig: Path):
        self.path = layout.state / "settled.json"
        self.runner = runner
        self.kubeconfig = kubeconfig
        self.fingerprint = _fingerprint(layout, manifest, kubeconfig)
        self._holds: bool | None = None

    def holds(self) -> bool:
        if self._holds is None:
            self._holds = self._recorded() == self.fingerprint and self._live()
        return self._holds

    def record(self) -> None:
        if not self.runner.dry_run:
            self.path.write_text(json.dumps({"fingerprint": self.fingerprint}))

    def _recorded(self) -> str | None:
        try:
            return json.loads(self.path.read_text()).get("fingerprint")
        except (OSError, ValueError):
            return None

    def _live(self) -> bool:
        return (
            network.bridge_exists()
            and network.forward_hooked(self.runner)
            and _has_context(self.kubeconfig)
            and self._images_present()
        )

    def _images_present(self) -> bool:
        return not images.absent(self.runner, [PAUSE_IMAGE, COREDNS_IMAGE])


def forget(layout: Layout) -> None:
    (layout.state / "settled.json").unlink(missing_ok=True)


def _fingerprint(layout: Layout, manifest: dict[str, Any], kubeconfig: Path) -> str:
    digest = hashlib.sha256()
    digest.update(BOOT_ID.read_bytes() if BOOT_ID.exists() else b"")
    digest.update(json.dumps(manifest, sort_keys=True).encode())
    digest.update(f"{layout.bin}\n{kubeconfig}\n".encode())
    for folder in (layout.config, layout.cni_conf):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(f"{path}\n".encode() + path.read_bytes())
    return digest.hexdigest()


def _has_context(kubeconfig: Path) -> bool:
    try:
        doc = yaml.safe_load(kubeconfig.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return False
    return any(c.get("name") == CONTEXT for c in doc.get("contexts") or [])
