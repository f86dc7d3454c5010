"""The exact command chain of `teardown`, and that a second run or nothing deployed is fine."""

from __future__ import annotations

from conftest import TOOLS, Harness

from todo_deploy import flow
from todo_deploy.providers.minikube import MinikubeProvider

RUNNING = {"Host": "Running", "Kubelet": "Running", "APIServer": "Running"}
PVC = {"items": [{"metadata": {"name": "data-todo-postgres-0"}}]}
HELM = "helm --namespace todo-app --kube-context todo"
DELETE_NS = ("kubectl --context todo delete namespace todo-app --ignore-not-found --wait=true "
             "--timeout=300s")  # fmt: skip


def _teardown(h: Harness, **options: bool) -> list[str]:
    config = h.config()
    flow.teardown(config, MinikubeProvider(config, h.runner), h.runner, TOOLS,
                  console=h.console, options=flow.TeardownOptions(**options))  # fmt: skip
    return h.fake.lines


def test_helm_teardown_keeps_database_volume_and_says_so(harness: Harness) -> None:
    harness.fake.on("minikube", "status", stdout=RUNNING)
    harness.fake.on("get", "pvc", stdout=PVC)
    assert _teardown(harness) == [
        "minikube status -o json -p todo",
        f"{HELM} status todo",
        f"{HELM} uninstall todo --wait --timeout 300s",
        "kubectl --context todo -n todo-app get pvc -o json",
    ]
    shown = harness.everything_shown()
    assert "keeping namespace todo-app with database volume(s) data-todo-postgres-0" in shown
    assert "--purge-data" in shown


def test_purge_data_deletes_the_namespace_and_waits(harness: Harness) -> None:
    harness.fake.on("minikube", "status", stdout=RUNNING)
    harness.fake.on("get", "pvc", stdout=PVC)
    assert _teardown(harness, purge_data=True)[-1] == DELETE_NS
    assert "--purge-data: deleting database volume(s) data-todo-postgres-0" in (
        harness.everything_shown())  # fmt: skip


def test_second_teardown_is_not_an_error(harness: Harness) -> None:
    harness.fake.on("minikube", "status", stdout=RUNNING)
    harness.fake.on("helm", "status", rc=1, stderr="Error: release: not found")
    assert _teardown(harness) == [
        "minikube status -o json -p todo",
        f"{HELM} status todo",
        "kubectl --context todo -n todo-app get pvc -o json",
        DELETE_NS,  # --ignore-not-found: an absent namespace is fine
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
        "minikube docker-env -o json -p todo",
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
    flow.teardown(config, MinikubeProvider(config, h.runner), h.runner, TOOLS, console=h.console,
                  options=flow.TeardownOptions())  # fmt: skip
    assert h.fake.lines[1] == ("kubectl --context todo -n todo-app delete -f - --ignore-not-found "
                               "--wait --timeout=300s")  # fmt: skip
    assert "Namespace" not in h.fake.calls[1].stdin  # the namespace goes last, after the PVC check
    assert h.fake.lines[-1] == DELETE_NS


def test_images_of_a_stopped_minikube_are_left_with_a_message(harness: Harness) -> None:
    harness.fake.on(
        "minikube", "docker-env", rc=89, stderr="The control plane node must be running"
    )
    lines = _teardown(harness, images=True)
    assert not [line for line in lines if line.startswith("docker image")]
    assert "images not removed" in harness.everything_shown()
