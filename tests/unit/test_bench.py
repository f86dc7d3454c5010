"""`nox -s bench`'s pieces that need no cluster: Skaffold's config and the ratio table."""

from __future__ import annotations

from tests.support.bench import (
    CHANGE,
    EMPTY,
    NOOP,
    ROOT,
    TEARDOWN,
    WATCH,
    markdown,
    over_budget,
    skaffold_config,
)
from todo_deploy.steps.images import SPECS

BASES = {
    "NODE_IMAGE": "node-base:1",
    "NODE_RUNTIME_IMAGE": "node-run:1",
    "PYTHON_IMAGE": "py-base:1",
    "DEBIAN_IMAGE": "deb-base:1",
}


def test_skaffold_builds_the_same_images_and_deploys_the_same_chart() -> None:
    config = skaffold_config(BASES, "traefik", "todo.local")
    artifacts = {a["image"]: a for a in config["build"]["artifacts"]}
    assert set(artifacts) == {f"todo-{name}" for name in SPECS}
    backend = artifacts["todo-backend"]
    assert backend["context"] == str(ROOT)
    assert backend["docker"]["dockerfile"] == "backend/Dockerfile"
    assert backend["docker"]["buildArgs"] == {"PYTHON_IMAGE": "py-base:1"}
    # relative to the artifact's context, as Skaffold reads it
    assert artifacts["todo-frontend"]["docker"]["dockerfile"] == "Dockerfile"
    assert artifacts["todo-frontend"]["context"] == str(ROOT / "frontend")
    assert config["build"]["local"]["push"] is False
    (release,) = config["deploy"]["helm"]["releases"]
    assert release["chartPath"] == str(ROOT / "helm" / "todo-app")
    assert release["namespace"] == "todo-app"
    templates = release["setValueTemplates"]
    assert templates["images.backend.tag"] == "{{.IMAGE_TAG_todo_backend}}"
    assert templates["images.postgresql.repository"] == "{{.IMAGE_REPO_todo_postgres}}"
    assert release["setValues"] == {
        "existingSecret": "todo-secrets",
        "ingress.ingressClassName": "traefik",
        "ingress.host": "todo.local",
    }


def test_the_table_gives_skaffold_over_the_suite_and_the_suite_over_the_floor() -> None:
    table = markdown(
        {
            NOOP: {"invoke deploy": 4.0, "plain helm-4 upgrade": 0.8, "skaffold run": 36.0},
            WATCH: {"invoke watch": 5.0, "skaffold dev": None},
        }
    )
    lines = table.splitlines()
    assert lines[0] == (
        "| scenario | invoke deploy | invoke watch | skaffold run | skaffold dev "
        "| plain helm-4 upgrade | skaffold / suite | suite / helm floor |"
    )
    assert f"| {NOOP} | 4.00 s | - | 36.00 s | - | 0.80 s | 9.0x | 5.0x |" in lines
    assert lines[-1].endswith("| 5.00 s | - | - | - | - | - |")


Rows = dict[str, dict[str, float | None]]
MET: Rows = {
    NOOP: {"invoke deploy": 2.0, "plain helm-4 upgrade": 0.8, "skaffold run": 12.0},
    CHANGE: {"invoke deploy": 7.0, "skaffold run": 12.0},
    TEARDOWN: {"invoke teardown": 7.5, "skaffold delete": 0.7},
    EMPTY: {"invoke deploy": 9.0, "skaffold run": 12.0},
    WATCH: {"invoke watch": 3.5, "skaffold dev": 9.0},
}


def test_a_run_meeting_every_target_is_within_budget() -> None:
    assert over_budget(MET) == []  # teardown is slower than Skaffold's, which keeps the namespace


def test_each_target_missed_is_named() -> None:
    missed: Rows = {
        NOOP: {**MET[NOOP], "invoke deploy": 2.5},  # 3.1x the floor
        CHANGE: {**MET[CHANGE], "invoke deploy": 7.5},  # 2.1x the watch
        TEARDOWN: {"invoke teardown": 8.5},
        EMPTY: {**MET[EMPTY], "invoke deploy": 9.5},  # 1.26x ahead
        WATCH: {**MET[WATCH], "skaffold dev": 3.0},  # behind
    }
    assert over_budget(missed) == [
        "no-op: over 3x the helm floor",
        "one-service change: over 2x the watch",
        "from an empty namespace: not 1.3x ahead of Skaffold",
        "teardown: over 8 s",
        f"{WATCH}: behind Skaffold",
    ]
