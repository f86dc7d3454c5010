"""The Secret goes server-side under the suite's field manager; no plain-text copy stays behind."""

from __future__ import annotations

import base64
import json

from tests.support.fakes import Harness
from todo_deploy.base.kube import Kube
from todo_deploy.flow import lifecycle as flow
from todo_deploy.providers.minikube import MinikubeProvider
from todo_deploy.steps import secrets

VALUES = {"POSTGRES_PASSWORD": "db-password-0123", "MCP_API_TOKEN": "mcp-token-0123456"}
APP_SECRETS = secrets.AppSecrets(dict(VALUES), {}, external_database=False)


def _kube(h: Harness) -> Kube:
    return Kube(h.runner, "kubectl", "ctx", "todo-app")


def test_secret_is_applied_server_side_with_data_and_no_annotation(harness: Harness) -> None:
    h = harness
    secrets.apply(_kube(h), "todo-secrets", APP_SECRETS)
    assert h.fake.lines == [
        "kubectl --context ctx apply -f -",
        "kubectl --context ctx apply --server-side --field-manager=todo-deploy --force-conflicts "
        f"-o 'go-template={secrets.STALE_TEMPLATE}' -f -",
    ]
    sent = json.loads(h.fake.calls[1].stdin or "")
    assert sent["kind"] == "Secret" and "annotations" not in sent["metadata"]
    assert {k: base64.b64decode(v).decode() for k, v in sent["data"].items()} == VALUES
    assert "stringData" not in sent  # server-side apply tracks `data` keys, not stringData's


def test_a_stale_client_side_annotation_is_removed(harness: Harness) -> None:
    h = harness
    h.fake.on("apply", "--server-side", stdout="stale")
    secrets.apply(_kube(h), "todo-secrets", APP_SECRETS)
    assert h.fake.lines[-1] == (
        "kubectl --context ctx -n todo-app annotate secret todo-secrets "
        "kubectl.kubernetes.io/last-applied-configuration-"
    )


def test_dry_run_sends_nothing_and_shows_no_value(harness: Harness) -> None:
    h = harness
    h.runner.dry_run = True
    secrets.apply(_kube(h), "todo-secrets", APP_SECRETS)
    assert h.fake.calls == []
    shown = "\n".join(h.printed)
    assert "[dry-run] kubectl --context ctx apply --server-side" in shown
    assert not any(v in shown for v in VALUES.values())


def test_the_digest_follows_the_values_and_shows_none_of_them() -> None:
    digest = APP_SECRETS.digest()
    same = secrets.AppSecrets(dict(reversed(VALUES.items())), {"x": "env"}, external_database=True)
    added = secrets.AppSecrets({**VALUES, "OPENAI_API_KEY": "sk-0123456789"}, {}, False)
    assert same.digest() == digest and added.digest() != digest
    assert all(value not in digest for value in VALUES.values())


def _as_applied(values: dict[str, str], **annotations: str) -> dict:
    secret = secrets.manifest("todo-secrets", "todo-app", values)
    secret["metadata"]["annotations"] = annotations
    return secret


def test_a_secret_already_as_applied_is_current_and_any_difference_is_not() -> None:
    assert secrets.is_current(_as_applied(VALUES), VALUES)
    assert not secrets.is_current({}, VALUES)  # absent
    assert not secrets.is_current(_as_applied({**VALUES, "MCP_API_TOKEN": "other"}), VALUES)
    assert not secrets.is_current(_as_applied({"POSTGRES_PASSWORD": "db-password-0123"}), VALUES)
    stale = _as_applied(VALUES, **{secrets.LAST_APPLIED: "{...}"})
    assert not secrets.is_current(stale, VALUES)  # the plain-text copy must still go
    unmanaged = _as_applied(VALUES)
    unmanaged["metadata"]["labels"] = {}
    assert not secrets.is_current(unmanaged, VALUES)


def test_a_redeploy_whose_secret_is_current_applies_nothing(harness: Harness) -> None:
    h = harness
    config = h.config()
    flow.deploy(h.target(config, MinikubeProvider(config, h.runner)), hooks=h.hooks())
    sent = next(c for c in h.fake.calls if "--server-side" in c.argv and c.stdin)
    h.fake.on("get", "secret", stdout=json.loads(sent.stdin or "{}"))
    h.fake.calls.clear()
    flow.deploy(h.target(config, MinikubeProvider(config, h.runner)), hooks=h.hooks())
    assert "kubectl --context todo -n todo-app get secret todo-secrets -o json" in h.fake.lines
    assert not [c for c in h.fake.calls if "apply" in c.argv and "Secret" in (c.stdin or "")]
