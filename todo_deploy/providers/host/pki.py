"""The cluster's certificates and kubeconfigs, made once per state directory.

One CA signs everything: serving certificates for the API server and kubelet, one client
certificate per component (RBAC knows them by CN/O), plus the service-account key pair.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from todo_deploy.providers.host.layout import (
    API_PORT,
    API_SERVICE_IP,
    CLUSTER_DOMAIN,
    CONTEXT,
    NODE_IP,
    NODE_NAME,
    Layout,
)

VALIDITY = datetime.timedelta(days=3650)
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


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common: str, groups: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    return x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
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
        if not self.path("ca").exists():
            self._make_ca()
        ca_key = serialization.load_pem_private_key(self.path("ca", "key").read_bytes(), None)
        ca_cert = x509.load_pem_x509_certificate(self.path("ca").read_bytes())
        if not self.path("apiserver").exists():
            ips = (NODE_IP, "127.0.0.1", API_SERVICE_IP)
            self._serve("apiserver", ca_cert, ca_key, API_NAMES, ips)
        if not self.path("kubelet-serving").exists():
            self._serve("kubelet-serving", ca_cert, ca_key, (NODE_NAME,), (NODE_IP,))
        for client in CLIENTS:
            if not self.path(client.stem).exists():
                self._client(client, ca_cert, ca_key)
            self._kubeconfig(client)
        if not self.path("sa", "key").exists():
            self._service_account_keys()

    def _make_ca(self) -> None:
        key = _key()
        name = _name("todo-host-ca")
        cert = (
            _builder(name, name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        _write_key(self.path("ca", "key"), key)
        self.path("ca").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def _sign(self, stem, builder, key, ca_cert, ca_key, usage) -> None:
        cert = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.KeyUsage(True, False, True, False, False, False, False, False, False),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_key(self.path(stem, "key"), key)
        self.path(stem).write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def _serve(self, stem, ca_cert, ca_key, names, ips) -> None:
        key = _key()
        san = [x509.DNSName(n) for n in names] + [
            x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips
        ]
        builder = _builder(_name(names[0]), ca_cert.subject, key.public_key()).add_extension(
            x509.SubjectAlternativeName(san), critical=False
        )
        self._sign(stem, builder, key, ca_cert, ca_key, ExtendedKeyUsageOID.SERVER_AUTH)

    def _client(self, client: Client, ca_cert, ca_key) -> None:
        key = _key()
        builder = _builder(_name(client.user, client.groups), ca_cert.subject, key.public_key())
        self._sign(client.stem, builder, key, ca_cert, ca_key, ExtendedKeyUsageOID.CLIENT_AUTH)

    def _service_account_keys(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.path("sa", "pub").write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        _write_key(self.path("sa", "key"), key)

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
