"""Every file git tracks is free of private keys, token formats and random-looking secrets."""

from __future__ import annotations

import random
import string
import subprocess
from pathlib import Path

import pytest

from tests.support.secret_scan import scan_patterns

REPO = Path(__file__).resolve().parents[2]
BINARY_PROBE = 8192


def tracked_texts(root: Path) -> dict[str, str]:
    """Path -> text of every tracked text file under `root` (binary files have a NUL byte)."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    texts = {}
    for name in filter(None, listing.split("\0")):
        path = root / name
        if not path.is_file():
            continue  # deleted in the work tree, not yet committed
        data = path.read_bytes()
        if b"\0" not in data[:BINARY_PROBE]:
            texts[name] = data.decode("utf-8", "replace")
    return texts


def test_tracked_files_hold_no_secrets() -> None:
    texts = tracked_texts(REPO)
    assert len(texts) > 100, "git ls-files found almost nothing: wrong repository root?"
    assert scan_patterns(texts) == []


# Planted values are made at run time: this file itself must pass the scan above.
FAKE = "".join(random.Random(8).choices(string.ascii_letters + string.digits, k=32))
KEY_HEADER = "-----BEGIN {}PRIVATE KEY-----\n"
PLANTED = {
    "key.pem": KEY_HEADER.format("RSA ") + "MIIEow...\n",
    "ed.pem": KEY_HEADER.format(""),
    ".env": f"BETTER_AUTH_SECRET={FAKE}\n",
    "values.yaml": f"secrets:\n  mcpApiToken: '{FAKE.lower()}'\n",
    "config.json": f'{{"openaiApiKey": "sk-proj-{FAKE}"}}\n',
    "deploy.sh": f"psql postgresql://todo:{FAKE}@db:5432/todo\n",
    "aws.ini": "key_id = AKIA" + FAKE.upper()[:16] + "\n",
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_the_scan_catches_a_planted_secret(tmp_path: Path, name: str) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "README.md").write_text("A repository with one secret in it.\n")
    (tmp_path / name).write_text(PLANTED[name])
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    findings = scan_patterns(tracked_texts(tmp_path))
    assert findings and all(finding.startswith(f"{name}:") for finding in findings), findings


@pytest.mark.parametrize(
    "line",
    [
        "BETTER_AUTH_SECRET=change-me-to-32-random-characters",
        "MCP_API_TOKEN: <generated>",
        'betterAuthSecret: "{{ .Values.secrets.betterAuthSecret }}"',
        "DATABASE_URL=postgresql://todo:${POSTGRES_PASSWORD}@todo-postgres:5432/todo",
        "token = secrets.token_hex(16)",
        'AUTH_SECRET = "from-dotenv-better-auth-secret-0123456789"',
        "checksum/secret: 9ec61ade10b9806c79b2439e2b38f84ef5ab55ae6a8a285a7bc9e4ce5ea03fea",
        "-----BEGIN CERTIFICATE-----",
    ],
)
def test_placeholders_and_code_are_not_secrets(line: str) -> None:
    assert scan_patterns({"file": line}) == []
