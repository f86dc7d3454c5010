"""The exact command chain of `teardown`, and that a second run or nothing deployed is fine."""

from __future__ import annotations

import base64
import json

from tests.support.fakes import Harness
from todo_deploy.flow import lifecycle as flow
from todo_deploy.providers.minikube import MinikubeProvider
from todo_deploy.steps import secrets, volumes

RUNNING = {"Host": "Running", "Kubelet": "Running", "APIServer": "Running"}
PVC = {"items": [{"metadata": {"name": "data-todo-postgres-0"}}]}
HELM = "helm --namespace todo-app --kube-context todo"
END_APP_PODS = (
    "kubectl --context todo -n todo-app delete pods -l "
    "'app.kubernetes.io/instance=todo,app.kubernetes.io/component!=postgres' "
    "--grace-period=0 --force --wait=false --ignore-not-found"
)
DELETE_NS = "kubectl --context todo delete namespace todo-app --ignore-not-found --wait=false"
NS_GONE = "kubectl --context todo wait --for=delete namespace/todo-app --timeout=300s"


def _teardown(h: Harness, **options: bool) -> list[str]:
    config = h.config()
    flow.teardown(
        h.target(config, MinikubeProvider(config, h.runner)),
        options=flow.TeardownOptions(**options),
    )
    return h.fake.unlocked_lines


def _volume(phase: str = "Bound", kept_policy: str | None = None) -> dict:
    annotations = {volumes.KEPT: kept_policy} if kept_policy else {}
    return {
        "items": [
            {
                "metadata": {"name": "pvc-8f2c", "annotations": annotations},
                "spec": {
                    "persistentVolumeReclaimPolicy": "Retain" if kept_policy else "Delete",
                    "claimRef": {
                        "namespace": "todo-app",
                        "name": "data-todo-postgres-0",
                        "uid": "5b1c-77",
                    },
                },
                "status": {"phase": phase},
            },
            {
                "metadata": {"name": "pvc-other"},
                "spec": {"claimRef": {"namespace": "elsewhere", "name": "data"}},
            },
        ]
    }


def _patches(h: Harness) -> list[dict]:
    return [json.loads(c.argv[-1]) for c in h.fake.calls if "patch" in c.argv]


def test_teardown_deletes_the_namespace_but_keeps_the_database_volume(harness: Harness) -> None:
    h = harness
    h.fake.on("minikube", "status", stdout=RUNNING)
    h.fake.on("get", "pvc", stdout=PVC)
    h.fake.on("get", "pv", stdout=_volume())
    h.fake.on(
        "get",
        "secret",
        stdout={
            "data": {
                "POSTGRES_PASSWORD": base64.b64encode(b"db-password-kept").decode(),
                "OPENAI_API_KEY": base64.b64encode(b"sk-not-to-be-kept").decode(),
            }
        },
    )
    patch = "kubectl --context todo patch pv pvc-8f2c --type merge -p"
    assert [
        line.split(" -p ")[0] + " -p" if "patch" in line else line for line in _teardown(h)
    ] == [
        "minikube status -o json -p todo",
        # The data is kept before the namespace's deletion starts.
        "kubectl --context todo -n todo-app get pvc -o json",
        "kubectl --context todo -n todo-app get secret todo-secrets -o json",
        "kubectl --context todo get pv -o json",
        patch,
        # Its controller waits 5 s before deleting anything: the uninstall runs meanwhile, and
        # the claim goes now, so the controller's first pass finds nothing left.
        DELETE_NS,
        "kubectl --context todo -n todo-app delete pvc data-todo-postgres-0 --ignore-not-found "
        "--wait=false",
        f"{HELM} status todo",
        f"{HELM} uninstall todo --timeout 300s",
        # Nothing to drain once the release is gone: the app's pods end at once.
        END_APP_PODS,
        NS_GONE,
        patch,
    ]
    keep, reserve = _patches(h)
    assert keep == {
        "metadata": {"annotations": {volumes.KEPT: "Delete"}},
        "spec": {"persistentVolumeReclaimPolicy": "Retain"},
    }
    assert reserve == {"spec": {"claimRef": {"uid": None, "resourceVersion": None}}}
    shown = h.everything_shown()
    assert "keeping database volume(s) data-todo-postgres-0 (as pvc-8f2c)" in shown
    assert "--purge-data" in shown
    kept_file = secrets.kept_path("todo", "todo-app")
    assert json.loads(kept_file.read_text()) == {"POSTGRES_PASSWORD": "db-password-kept"}
    assert kept_file.stat().st_mode & 0o077 == 0
    assert "db-password-kept" not in shown


def test_the_next_deploy_reuses_the_kept_credentials(harness: Harness) -> None:
    h = harness
    kept_file = secrets.kept_path("todo", "todo-app")
    secrets.save_kept(kept_file, {"POSTGRES_PASSWORD": "db-password-kept"})
    config = h.config()
    flow.deploy(h.target(config, MinikubeProvider(config, h.runner)), hooks=h.hooks())
    applied = next(json.loads(c.stdin) for c in h.fake.calls if c.stdin and "Secret" in c.stdin)
    assert base64.b64decode(applied["data"]["POSTGRES_PASSWORD"]) == b"db-password-kept"
    assert b"db-password-kept" in base64.b64decode(applied["data"]["DATABASE_URL"])
    assert not kept_file.exists()  # the cluster's Secret holds them again


def test_purge_data_releases_kept_volumes_and_deletes_the_namespace(harness: Harness) -> None:
    h = harness
    h.fake.on("minikube", "status", stdout=RUNNING)
    h.fake.on("helm", "status", rc=1, stderr="Error: release: not found")
    h.fake.on("get", "pv", stdout=_volume(phase="Available", kept_policy="Delete"))
    kept_file = secrets.kept_path("todo", "todo-app")
    secrets.save_kept(kept_file, {"POSTGRES_PASSWORD": "db-password-kept"})
    lines = _teardown(h, purge_data=True)
    assert lines[-2:] == [f"{HELM} status todo", NS_GONE]
    assert lines.index(DELETE_NS) > next(i for i, line in enumerate(lines) if "patch pv" in line)
    (release,) = _patches(h)
    assert release == {
        "metadata": {"annotations": {volumes.KEPT: None}},
        "spec": {
            "persistentVolumeReclaimPolicy": "Delete",
            "claimRef": {"uid": volumes.RELEASED_UID},
        },
    }
    assert "--purge-data: deleting database volume(s) pvc-8f2c" in h.everything_shown()
    assert not kept_file.exists()


def test_second_teardown_is_not_an_error(harness: Harness) -> None:
    harness.fake.on("minikube", "status", stdout=RUNNING)
    harness.fake.on("helm", "status", rc=1, stderr="Error: release: not found")
    assert _teardown(harness) == [
        "minikube status -o json -p todo",
        "kubectl --context todo -n todo-app get pvc -o json",
        DELETE_NS,  # --ignore-not-found: an absent namespace is fine
        f"{HELM} status todo",
        NS_GONE,
    ]
    assert "release todo is not installed" in harness.everything_shown()


def test_nothing_deployed_and_cluster_stopped(harness: Harness) -> None:
    assert _teardown(harness, cluster=True) == ["minikube status -o json -p todo"] * 2
    assert "nothing deployed" in harness.everything_shown()


def test_cluster_images_and_delete_flags(harness: Harness) -> None:
    harness.fake.on("minikube", "status", stdout=RUNNING)
    harness.fake.on("docker", "image", "ls", stdout="todo-backend:c0ffee1\ntodo-mcp:c0ffee2\n")
    lines = _teardown(harness, images=True, delete_cluster=True)
    assert lines[-4:] == [
        "minikube docker-env --shell none -o json -p todo",
        "docker image ls --format '{{.Repository}}:{{.Tag}}' --filter=reference=todo-frontend "
        "--filter=reference=todo-backend --filter=reference=todo-mcp "
        "--filter=reference=todo-postgres",
        "docker image rm todo-backend:c0ffee1 todo-mcp:c0ffee2",
        "minikube delete -p todo",
    ]
    rm = next(c for c in harness.fake.calls if c.argv[:3] == ("docker", "image", "rm"))
    assert rm.env["DOCKER_HOST"] == "tcp://192.168.49.2:2376"  # removed from minikube's engine


def test_kubectl_method_teardown_deletes_the_rendered_objects(harness: Harness) -> None:
    h = harness
    h.fake.on("minikube", "status", stdout=RUNNING)
    config = h.config(method="kubectl")
    flow.teardown(
        h.target(config, MinikubeProvider(config, h.runner)), options=flow.TeardownOptions()
    )
    lines = h.fake.unlocked_lines
    delete = "kubectl --context todo -n todo-app delete -f - --ignore-not-found --wait=false"
    # The namespace's deletion starts after the PVC check; the objects go while it waits.
    assert lines[1:4] == ["kubectl --context todo -n todo-app get pvc -o json", DELETE_NS, delete]
    deleting = next(c for c in h.fake.calls if c.line == delete)
    assert "Namespace" not in (deleting.stdin or "")
    assert lines[-1] == NS_GONE


def test_images_of_a_stopped_minikube_are_left_with_a_message(harness: Harness) -> None:
    harness.fake.on(
        "minikube", "docker-env", rc=89, stderr="The control plane node must be running"
    )
    lines = _teardown(harness, images=True)
    assert not [line for line in lines if line.startswith("docker image")]
    assert "images not removed" in harness.everything_shown()
