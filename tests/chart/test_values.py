"""Bad values are refused with a message that says what is wrong (schema and `fail`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from todo_deploy.base.run import CommandError
from todo_deploy.steps import manifests

BAD = Path(__file__).parent / "bad-values"
# file -> text the error must contain
EXPECTED = {
    "negative-replicas.yaml": "at '/replicas/frontend': minimum: got -1, want 0",
    "replicas-wrong-type.yaml": "at '/replicas/backend': got string, want integer",
    "unknown-pull-policy.yaml": "value must be one of 'Always', 'IfNotPresent', 'Never'",
    "ingress-enabled-string.yaml": "at '/ingress/enabled': got string, want boolean",
    "latest-tag.yaml": 'images.mcp.tag is "latest": use an immutable tag',
    "unknown-key.yaml": "additional properties 'replica' not allowed",
    "no-database.yaml": "postgresql.enabled is false but no database is given",
    "short-auth-secret.yaml": "secrets.betterAuthSecret must be at least 32 characters",
    "autoscaling-min-above-max.yaml": "autoscaling.backend.minReplicas (5) is above maxReplicas",
}


def test_every_bad_values_file_has_an_expectation():
    assert {p.name for p in BAD.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_values_are_refused_with_a_clear_message(tools, name):
    with pytest.raises(CommandError) as refused:
        manifests.template([BAD / name], tools=tools)
    assert EXPECTED[name] in str(refused.value)


@pytest.mark.parametrize(
    "set_values",
    [
        {"postgresql.enabled": "false", "secrets.databaseUrl": "postgresql://u:p@db:5432/todo"},
        {"postgresql.enabled": "false", "existingSecret": "mine"},
    ],
)
def test_an_external_database_satisfies_the_database_check(render, set_values):
    kinds = {obj["kind"] for obj in render([], set_values)}
    assert "StatefulSet" not in kinds and "Deployment" in kinds
