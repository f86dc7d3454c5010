"""The cluster's certificates and kubeconfigs, made once per state directory.

One CA signs everything: serving certificates for the API server and kubelet, one client
certificate per component (RBAC knows them by CN/O), plus the service-account key pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from todo_deploy.providers.host.layout import (
    API_PORT,
    API_SERVICE_IP,
    CLUSTER_DOMAIN,
    CONTEXT,
    NODE_IP,
    NODE_NAME,
    Layout,
)

API_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
    "localhost",
)


@dataclass(frozen=True)
class Client:
    """A client identity: file stem, user name (CN) and groups (O)."""

    stem: str
    user: str
    groups: tuple[str, ...] = ()


CLIENTS = (
    Client("admin", "kubernetes-admin", ("system:masters",)),
    Client("controller-manager", "system:kube-controller-manager"),
    Client("scheduler", "system:kube-scheduler"),
    Client("kubelet", f"system:node:{NODE_NAME}", ("system:nodes",)),
    Client("kube-proxy", "system:kube-proxy"),
    Client("traefik", "todo-host:traefik"),
    Client("network-policies", "todo-host:network-policies"),
    Client("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",)),
)


class Pki:
    def __init__(self, layout: Layout):
        self.dir = layout.pki
        self.layout = layout

    def path(self, stem: str, kind: str = "crt") -> Path:
        return self.dir / f"{stem}.{kind}"

    def ensure(self) -> None:
        """Create whatever is missing; existing files are kept so restarts keep identities."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.layout.kubeconfigs.mkdir(parents=True, exist_ok=True)
        if self._missing():
            self._make_missing()
        for client in CLIENTS:
            self._kubeconfig(client)

    def _missing(self) -> list[Path]:
        stems = ["ca", "apiserver", "kubelet-serving", *(c.stem for c in CLIENTS)]
        return [p for p in [*map(self.path, stems), self.path("sa", "key")] if not p.exists()]

    def _make_missing(self) -> None:
        from todo_deploy.providers.host import certs

        if not self.path("ca").exists():
            certs.make_ca(self.path)
        ca_cert, ca_key = certs.load_ca(self.path)
        if not self.path("apiserver").exists():
            ips = (NODE_IP, "127.0.0.1", API_SERVICE_IP)
            certs.serve(self.path, "apiserver", ca_cert, ca_key, API_NAMES, ips)
        if not self.path("kubelet-serving").exists():
            certs.serve(self.path, "kubelet-serving", ca_cert, ca_key, (NODE_NAME,), (NODE_IP,))
        for client in CLIENTS:
            if not self.path(client.stem).exists():
                certs.client(self.path, client.stem, client.user, client.groups, ca_cert, ca_key)
        if not self.path("sa", "key").exists():
            certs.service_account_keys(self.path)

    def kubeconfig_path(self, stem: str) -> Path:
        return self.layout.kubeconfigs / f"{stem}.conf"

    def _kubeconfig(self, client: Client) -> None:
        path = self.kubeconfig_path(client.stem)
        config = kubeconfig(
            server=f"https://{NODE_IP}:{API_PORT}",
            ca=self.path("ca"),
            cert=self.path(client.stem),
            key=self.path(client.stem, "key"),
            user=client.stem,
        )
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)


def kubeconfig(*, server: str, ca: Path, cert: Path, key: Path, user: str) -> dict:
    """A one-context kubeconfig (context `todo-host`) that refers to the PEM files by path."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": CONTEXT, "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [
            {"name": user, "user": {"client-certificate": str(cert), "client-key": str(key)}}
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user}}],
        "current-context": CONTEXT,
    }
