"""Dry-run changes nothing and shows everything; secret values never appear in any output."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.fakes import Harness
from todo_deploy.base.run import CommandError
from todo_deploy.flow import lifecycle as flow
from todo_deploy.providers.minikube import MinikubeProvider
from todo_deploy.steps import secrets

OPENAI_KEY = "sk-test-0123456789abcdefSECRET"
AUTH_SECRET = "from-dotenv-better-auth-secret-0123456789"
MUTATING = ("minikube start", "minikube addons", "apply -f -", "helm upgrade", "rollout status")


def test_dry_run_prints_every_mutating_command_and_runs_none(harness: Harness) -> None:
    h = harness
    h.runner.dry_run = True
    config = h.config()
    report = flow.deploy(h.target(config, MinikubeProvider(config, h.runner)), hooks=h.hooks())
    executed = h.fake.lines
    assert not [line for line in executed if any(m in line for m in MUTATING)]
    assert h.builder.calls == []  # no image was built
    printed = "\n".join(h.printed)
    for expected in (
        "[dry-run] minikube start --driver=docker --cni=calico --memory=4096 --cpus=2 -p todo",
        "[dry-run] minikube addons enable ingress -p todo",
        "[dry-run] kubectl --context todo -n ingress-nginx rollout status",
        "[dry-run] wait for endpoints of ingress-nginx/ingress-nginx-controller-admission",
        # the build line carries the environment it would pass
        "[dry-run] build images frontend backend mcp postgres with DOCKER_TLS_VERIFY=1 "
        "DOCKER_HOST=tcp://192.168.49.2:2376",
        "[dry-run] kubectl --context todo apply -f -",
        "[dry-run] helm upgrade --install todo",
        "images.backend.tag=CONTENT-TAG",
    ):
        assert expected in printed
    assert "verify" not in [s.name for s in report.steps]
    assert "[dry-run] verify: workloads ready, then GET /health through the ingress" in printed


def test_secrets_are_masked_in_echo_dry_run_errors_and_report(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    h.runner.echo = True
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    (h.project / ".env").write_text(f"BETTER_AUTH_SECRET={AUTH_SECRET}\n")
    # helm fails and echoes a value back, as a misbehaving tool might
    h.fake.on("helm", "upgrade", rc=1, stderr=f"Error: bad value {AUTH_SECRET} / {OPENAI_KEY}")
    config = h.config()
    with pytest.raises(CommandError) as failure:
        flow.deploy(
            h.target(config, MinikubeProvider(config, h.runner)), openai=True, hooks=h.hooks()
        )
    secret_apply = next(c for c in h.fake.calls if c.stdin and "Secret" in c.stdin)
    data = json.loads(secret_apply.stdin or "{}")["data"]
    applied = {k: base64.b64decode(v).decode() for k, v in data.items()}
    assert applied["OPENAI_API_KEY"] == OPENAI_KEY  # the cluster does get the values ...
    assert applied["BETTER_AUTH_SECRET"] == AUTH_SECRET
    shown = "\n".join([h.everything_shown(), failure.value.block(), str(failure.value)])
    values = [v for k, v in applied.items()]
    assert "******" in failure.value.block()
    for value in values:  # ... and no output, echo or error shows any of them
        assert value not in shown
        assert all(value not in line for line in h.fake.lines)  # never on a command line
    assert "BETTER_AUTH_SECRET from" in shown and ".env" in shown  # sources are named


def test_existing_cluster_secret_is_reused(harness: Harness) -> None:
    h = harness
    data = {"POSTGRES_PASSWORD": "kept-db-password-123", "MCP_API_TOKEN": "kept-token-123456"}
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    h.fake.on("get", "secret", stdout={"data": encoded})
    kube = h.target(h.config(), MinikubeProvider(h.config(), h.runner)).kube
    existing = secrets.read_cluster_secret(kube, "todo-secrets")
    collected = secrets.collect(existing, env={}, env_file=str(h.project / ".env"))
    assert collected.values["POSTGRES_PASSWORD"] == "kept-db-password-123"
    assert collected.values["DATABASE_URL"] == (
        "postgresql://todo:kept-db-password-123@todo-postgres:5432/todo"
    )
    assert collected.sources["MCP_API_TOKEN"] == "cluster"
    assert collected.sources["BETTER_AUTH_SECRET"] == "generated"
    assert len(collected.values["BETTER_AUTH_SECRET"]) >= 32  # better-auth's minimum


def test_missing_openai_key_names_the_variable_and_how_to_set_it(tmp_path) -> None:
    with pytest.raises(secrets.SecretError) as failure:
        secrets.collect({}, env={}, env_file=str(tmp_path / ".env"), require_openai=True)
    message = str(failure.value)
    assert "OPENAI_API_KEY is required with --openai" in message
    assert "export OPENAI_API_KEY=" in message and ".env" in message


def test_malformed_database_url_is_refused_without_showing_it(tmp_path) -> None:
    bad = "mysql://root:hunter2-secret@db/todo"
    with pytest.raises(secrets.SecretError) as failure:
        secrets.collect({}, env={"DATABASE_URL": bad}, env_file=str(tmp_path / ".env"))
    assert "DATABASE_URL is malformed" in str(failure.value)
    assert "hunter2" not in str(failure.value)


def test_external_database_url_turns_off_the_in_cluster_database(
    harness: Harness, monkeypatch
) -> None:
    h = harness
    monkeypatch.setenv("DATABASE_URL", "postgresql://neon:pw-0123456789@ep-x.neon.tech/todo")
    config = h.config(provider="host")
    from tests.support.fakes import FakeHostProvider

    flow.deploy(h.target(config, FakeHostProvider()), hooks=h.hooks())
    helm = next(line for line in h.fake.lines if line.startswith("helm upgrade"))
    assert "postgresql.enabled=false" in helm and "images.postgresql" not in helm


def test_dry_run_describes_a_provider_that_is_not_dry_run_safe(harness: Harness) -> None:
    from tests.support.fakes import FakeHostProvider

    h = harness
    h.runner.dry_run = True
    provider = FakeHostProvider()
    flow.deploy(h.target(h.config(provider="host"), provider), hooks=h.hooks())
    assert "up" not in provider.events
    assert "[dry-run] provider host: up: start the cluster and wait for its ingress" in h.printed
    flow.teardown(
        h.target(h.config(provider="host"), provider), options=flow.TeardownOptions(cluster=True)
    )
    assert not [e for e in provider.events if e.startswith("down")]
    assert not [line for line in h.fake.lines if any(m in line for m in MUTATING)]


def test_an_unreadable_cluster_secret_stops_instead_of_regenerating(harness: Harness) -> None:
    h = harness
    h.fake.on("get", "secret", rc=1, stderr="Unable to connect to the server: connection refused")
    kube = h.target(h.config(), MinikubeProvider(h.config(), h.runner)).kube
    with pytest.raises(secrets.SecretError, match="could not read the existing Secret"):
        secrets.read_cluster_secret(kube, "todo-secrets")
    h.runner.dry_run = True  # a dry run before the cluster exists still shows its plan
    assert secrets.read_cluster_secret(kube, "todo-secrets") == {}


def test_each_service_gets_its_own_role_and_kept_password(tmp_path) -> None:
    kept = {"POSTGRES_MCP_PASSWORD": "kept-mcp-password-1"}
    external = "postgresql://neon:pw-0123456789@ep-x.neon.tech/todo?sslmode=require"
    collected = secrets.collect(
        {}, env={"DATABASE_URL": external}, env_file=str(tmp_path / ".env"), kept=kept
    )
    values = collected.values
    assert values["DATABASE_URL"] == external  # the owner, for the migrations only
    assert values["MCP_DATABASE_URL"] == (
        "postgresql://todo_mcp:kept-mcp-password-1@ep-x.neon.tech/todo?sslmode=require"
    )
    backend = values["BACKEND_DATABASE_URL"]
    assert backend.startswith("postgresql://todo_backend:") and backend.endswith("?sslmode=require")
    assert values["POSTGRES_BACKEND_PASSWORD"] in backend
    passwords = {values[f"POSTGRES_{s}_PASSWORD"] for s in ("BACKEND", "MCP", "FRONTEND")}
    assert len(passwords) == 3 and "pw-0123456789" not in passwords
    assert {"POSTGRES_BACKEND_PASSWORD", "POSTGRES_FRONTEND_PASSWORD"} <= set(secrets.GENERATED)
