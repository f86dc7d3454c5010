"""scan_texts: where the deployment's real secret values show up, without printing them."""

from __future__ import annotations

import base64
import secrets

import pytest

from tests.support.secret_scan import scan_texts

AUTH = secrets.token_urlsafe(32)
PASSWORD = "p@ss word/" + secrets.token_hex(8)  # needs URL-encoding


def test_a_clean_text_has_no_findings() -> None:
    texts = {"pod/backend": "INFO started\nGET /health 200\n", "report.md": "all green"}
    assert scan_texts(texts, [AUTH, PASSWORD]) == []


def test_each_leak_names_text_line_secret_and_encoding_but_not_the_value() -> None:
    texts = {
        "pod/frontend": f"booting\nsecret is {AUTH}\n",
        "kubectl get secret": f"data:\n  auth: {base64.b64encode(AUTH.encode()).decode()}\n",
        "build/report.json": '{"url": "postgresql://todo:'
        + PASSWORD.replace(" ", "%20").replace("@", "%40").replace("/", "%2F")
        + '@db/todo"}',
    }
    findings = scan_texts(texts, [AUTH, PASSWORD])
    assert findings == [
        "pod/frontend:2: secret #1 (as is)",
        "kubectl get secret:2: secret #1 (base64)",
        "build/report.json:1: secret #2 (url-encoded)",
    ]
    assert not any(AUTH in finding or PASSWORD in finding for finding in findings)


def test_a_secret_split_across_lines_is_not_claimed_as_found() -> None:
    half = len(AUTH) // 2
    assert scan_texts({"log": f"{AUTH[:half]}\n{AUTH[half:]}"}, [AUTH]) == []


def test_too_short_a_secret_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="shorter than 8"):
        scan_texts({"log": "abc"}, [AUTH, "abc"])
