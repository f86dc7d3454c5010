"""How the host cluster's certificates and keys are made (cryptography): pki.py imports this
only when a file is missing, so a warm `up()` never loads cryptography (0.2 s)."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=3650)
# A path for (stem, kind): Pki.path.
PathOf = Callable[..., Path]


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


def make_ca(path: PathOf) -> None:
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
    _write_key(path("ca", "key"), key)
    path("ca").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _sign(path: PathOf, stem, builder, key, ca_cert, ca_key, usage) -> None:
    cert = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(path(stem, "key"), key)
    path(stem).write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def serve(path: PathOf, stem, ca_cert, ca_key, names, ips) -> None:
    key = _key()
    san = [x509.DNSName(n) for n in names] + [
        x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips
    ]
    builder = _builder(_name(names[0]), ca_cert.subject, key.public_key()).add_extension(
        x509.SubjectAlternativeName(san), critical=False
    )
    _sign(path, stem, builder, key, ca_cert, ca_key, ExtendedKeyUsageOID.SERVER_AUTH)


def client(path: PathOf, stem: str, user: str, groups: tuple[str, ...], ca_cert, ca_key) -> None:
    key = _key()
    builder = _builder(_name(user, groups), ca_cert.subject, key.public_key())
    _sign(path, stem, builder, key, ca_cert, ca_key, ExtendedKeyUsageOID.CLIENT_AUTH)


def service_account_keys(path: PathOf) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path("sa", "pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    _write_key(path("sa", "key"), key)


def load_ca(path: PathOf) -> tuple[x509.Certificate, object]:
    ca_key = serialization.load_pem_private_key(path("ca", "key").read_bytes(), None)
    return x509.load_pem_x509_certificate(path("ca").read_bytes()), ca_key
