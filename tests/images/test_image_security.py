"""Every image we build runs as a numeric non-root user and carries no secret: not in its build
history, environment or labels, and no private key anywhere in its file system.

The CA bundle handed to builds is public certificates (and a BuildKit secret mount, so never a
layer); a private key or a secret value baked into a layer would ship to every cluster.
"""

from __future__ import annotations

import json
import os
import random
import re
import string
import subprocess
import tarfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from tests.support.secret_scan import PRIVATE_KEY_BLOCK, looks_random, scan_patterns
from todo_deploy.base.engine import DockerCli
from todo_deploy.steps.images import BUILD_TIMEOUT, SPECS, BuiltImage

pytestmark = [pytest.mark.docker, pytest.mark.timeout(BUILD_TIMEOUT)]

# Our own settings that hold secrets, and the generic `password=`: none may have a value baked in.
SECRET_SETTING = re.compile(
    r"\b(BETTER_AUTH_SECRET|MCP_API_TOKEN|OPENAI_API_KEY|POSTGRES_PASSWORD|DATABASE_URL|password)"
    r"=(?!\$)(\S+)",
    re.IGNORECASE,
)
KEY_FILE_NAME = re.compile(r"(^|/)(id_rsa|id_dsa|id_ecdsa|id_ed25519)$|(^|/)\.ssh/")
SMALL_FILE = 1_000_000  # private keys are a few kB; large files are binaries and bundles


def _baked_settings(text: str) -> list[str]:
    return [f"{m.group(1)}=..." for m in SECRET_SETTING.finditer(text) if m.group(2) != '""']


@pytest.fixture(scope="module", params=sorted(SPECS))
def image(request: pytest.FixtureRequest, built: dict[str, BuiltImage]) -> BuiltImage:
    return built[request.param]


def test_runs_as_a_numeric_non_root_user(docker: DockerCli, image: BuiltImage) -> None:
    user = docker.inspect(image.ref, "{{.Config.User}}") or ""
    # Numeric, so the kubelet can verify runAsNonRoot; not uid 0.
    assert re.fullmatch(r"\d+(:\d+)?", user), f"{image.ref}: User is {user!r}, not uid[:gid]"
    assert int(user.split(":")[0]) != 0, f"{image.ref} runs as root"


def test_no_secret_in_history_env_or_labels(docker: DockerCli, image: BuiltImage) -> None:
    history = docker.run(
        "history", "--no-trunc", "--format", "{{.CreatedBy}}", image.ref,
        step=f"history {image.ref}", mutating=False,
    ).stdout  # fmt: skip
    config = json.loads(docker.inspect(image.ref, "{{json .Config}}") or "{}")
    env = "\n".join(config.get("Env") or [])
    labels = "\n".join(f"{k}={v}" for k, v in (config.get("Labels") or {}).items())
    texts = {"history": history, "env": env, "labels": labels}
    findings = scan_patterns(texts)
    findings += [f"{name}: {s}" for name, text in texts.items() for s in _baked_settings(text)]
    assert len(history.splitlines()) > 3, f"{image.ref}: no build history to check"
    assert findings == [], f"{image.ref}: {findings}"


def test_no_private_key_in_the_file_system(docker: DockerCli, image: BuiltImage) -> None:
    container = docker.run("create", image.ref, step=f"create {image.ref}").stdout.strip()
    try:
        findings, files = _private_keys(docker, container)
    finally:
        docker.run("rm", "--force", container, step="remove container", check=False)
    assert files > 100, f"{image.ref}: the export held only {files} files"
    assert findings == [], f"{image.ref}: private keys at {findings}"


def _private_keys(docker: DockerCli, container: str) -> tuple[list[str], int]:
    """Stream `docker export` and return (paths holding a private key, files seen)."""
    export = subprocess.Popen(
        [docker.cli, "export", container], stdout=subprocess.PIPE, env=os.environ | dict(docker.env)
    )
    assert export.stdout is not None
    findings, files = [], 0
    with tarfile.open(fileobj=export.stdout, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            files += 1
            if KEY_FILE_NAME.search(member.name):
                findings.append(member.name)
            elif member.size <= SMALL_FILE:
                data = tar.extractfile(member)
                content = data.read() if data else b""
                if PRIVATE_KEY_BLOCK.search(content.decode("latin-1")):
                    findings.append(member.name)
    assert export.wait(timeout=300) == 0, "docker export failed"
    return findings, files


def test_the_checks_catch_planted_secrets() -> None:
    """The same matchers on a history that bakes secrets in, so a pass above means something."""
    fake = "".join(random.Random(8).choices(string.ascii_letters + string.digits, k=32))
    history = (
        f"ENV BETTER_AUTH_SECRET={fake}\n"
        "RUN echo password=hunter2 > /etc/app.conf\n"
        "COPY id_ed25519 /home/app/.ssh/id_ed25519\n"
    )
    assert _baked_settings(history) == ["BETTER_AUTH_SECRET=...", "password=..."]
    assert scan_patterns({"history": history})
    assert _baked_settings("ENV DATABASE_URL=$DATABASE_URL") == []
    assert KEY_FILE_NAME.search("home/app/.ssh/id_ed25519")
    key = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()
    )
    assert PRIVATE_KEY_BLOCK.search(key.decode())
    header_only = '_SK_START = b"-----BEGIN ' + 'OPENSSH PRIVATE KEY-----"'  # cryptography's
    assert not PRIVATE_KEY_BLOCK.search(header_only)
    assert looks_random(fake)
