"""Find secrets in text: the deployment's own values, and strings that look like any secret.

Findings name where and what kind, never the secret itself: they end up in test output and CI
logs, which must not become the leak they report.
"""

from __future__ import annotations

import base64
import math
import re
from collections import Counter
from urllib.parse import quote

from todo_deploy.base import catalogue
from todo_deploy.base.kube import Kube

PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
# A whole key, not just the header string that libraries keep as a constant to parse keys with.
PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\r?\n(?:[\w-]+: [^\n]*\n|\r?\n)*[A-Za-z0-9+/=]{40,}"
)
TOKEN_FORMATS = {
    "OpenAI API key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}"),
    "AWS access key id": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
}
# NAME = value, NAME: value, "name": "value", --name=value for names that hold secrets.
ASSIGNMENT = re.compile(
    r"""(?ix)
    (?<![/\w.-])  # whole names only: not `checksum/secret`
    ([a-z0-9_.-]*(?:secret|token|password|passwd|api[_-]?key|private[_-]?key)[a-z0-9_]*)
    ["']?\s*[:=]\s*["']?
    ([A-Za-z0-9+/=_.~-]+)(?![A-Za-z0-9+/=_.~(-])  # a literal, not a call: token_hex(16)
    """
)
URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^:/@\s]+:([^@/\s]+)@", re.IGNORECASE)
# Values that stand for a secret rather than being one: docs, templates, shell and Helm syntax.
PLACEHOLDER = re.compile(
    r"(?i)change.?me|example|placeholder|redacted|dummy|your[-_]|(?-i:x{4,})|\*{3,}|\$|\{\{|<|\.\.\."
    r"|0123456789"
)
# What people write: words, camelCase, a number ('kept-db-password-123', 'hunter2'). Generated
# tokens mix case and digits within a part; a test's obvious fake does not.
WORD = re.compile(r"(?:[A-Z]+|[A-Z]?[a-z]+(?:[A-Z][a-z]+)*)\d{0,3}|\d+")
MIN_SECRET_LENGTH = 16
MIN_BITS_PER_CHAR = 2.5


def looks_random(value: str) -> bool:
    """Long, not a placeholder, not made of words, and not one character repeated."""
    if len(value) < MIN_SECRET_LENGTH or PLACEHOLDER.search(value):
        return False
    if all(WORD.fullmatch(part) for part in re.split(r"[-_.:/]", value) if part):
        return False
    counts = Counter(value)
    bits = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return bits >= MIN_BITS_PER_CHAR


def find_secret_patterns(text: str) -> list[tuple[int, str]]:
    """(line number, kind) of every private key, known token format or secret assignment."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if PRIVATE_KEY.search(line):
            found.append((number, "private key"))
        found += [(number, kind) for kind, pattern in TOKEN_FORMATS.items() if pattern.search(line)]
        for match in ASSIGNMENT.finditer(line):
            if looks_random(match.group(2)):
                found.append((number, f"random-looking value assigned to {match.group(1)}"))
        for match in URL_CREDENTIALS.finditer(line):
            if looks_random(match.group(1)):
                found.append((number, "password in a URL"))
    return found


def scan_patterns(texts: dict[str, str]) -> list[str]:
    """'name:line: kind' for every secret-looking string in the named texts."""
    return [
        f"{name}:{number}: {kind}"
        for name, text in texts.items()
        for number, kind in find_secret_patterns(text)
    ]


def encodings(secret: str) -> dict[str, str]:
    """The forms a value takes on its way out: as is, base64 (Secret data), URL-encoded."""
    raw = secret.encode()
    forms = {
        "as is": secret,
        "base64": base64.b64encode(raw).decode(),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "url-encoded": quote(secret, safe=""),
    }
    return {kind: form for kind, form in forms.items() if kind == "as is" or form != secret}


def scan_texts(texts: dict[str, str], secrets: list[str]) -> list[str]:
    """Where any of `secrets` (the deployment's real values) appears in `texts`.

    Each finding is 'name:line: secret #i (encoding)', the secret numbered by its place in
    `secrets`, so a report can say which leaked without printing it.
    """
    too_short = [i for i, secret in enumerate(secrets, start=1) if len(secret) < 8]
    if too_short:
        # A short value matches by chance everywhere: that is a caller's mistake, not a finding.
        raise ValueError(f"secrets #{too_short} are shorter than 8 characters")
    findings = []
    for name, text in texts.items():
        for number, line in enumerate(text.splitlines(), start=1):
            for index, secret in enumerate(secrets, start=1):
                # One finding per line and secret: unpadded base64url is often a prefix of base64.
                kind = next((k for k, form in encodings(secret).items() if form in line), None)
                if kind:
                    findings.append(f"{name}:{number}: secret #{index} ({kind})")
    return findings


def deployed_secrets_and_logs(kube: Kube, pods: list[dict]) -> tuple[list[str], dict[str, str]]:
    """The app Secret's values worth looking for, and the logs of `pods` (name -> text)."""
    name = catalogue.default().object_name("secrets")
    secret = kube.get_json("secret", name, step="read the secret")
    if secret is None:
        raise AssertionError(f"the app's Secret {name} is missing")
    values = [base64.b64decode(v).decode() for v in secret["data"].values()]
    values = [v for v in values if len(v) >= 8]  # an empty optional key is no secret
    logs = {}
    for pod in pods:
        pod_name = pod["metadata"]["name"]
        result = kube.run("logs", pod_name, "--all-containers", step="logs", mutating=False)
        logs[f"pod/{pod_name}"] = result.stdout
    return values, logs
