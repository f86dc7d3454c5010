"""`nox -s bench`'s pieces that need no cluster: Skaffold's config and the ratio table."""

from __future__ import annotations

from tests.support.bench import ROOT, markdown, skaffold_config
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


def test_the_table_gives_skaffold_over_the_suite() -> None:
    table = markdown(
        {
            "no-op redeploy (median of 3)": {
                "invoke deploy": 4.0,
                "plain helm-4 upgrade": 0.8,
                "skaffold run": 36.0,
            },
            "watch: back-end save to serving": {"invoke watch": 5.0, "skaffold dev": None},
        }
    )
    lines = table.splitlines()
    assert lines[0] == (
        "| scenario | invoke deploy | invoke watch | skaffold run | skaffold dev "
        "| plain helm-4 upgrade | skaffold / suite |"
    )
    assert "| no-op redeploy (median of 3) | 4.00 s | - | 36.00 s | - | 0.80 s | 9.0x |" in lines
    assert lines[-1].endswith("| 5.00 s | - | - | - | - |")
