"""The kind provider's command chains on the fake executor: create, ingress, load, registry,
teardown."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.fakes import Harness
from todo_deploy.flow import lifecycle as flow
from todo_deploy.providers import traefik
from todo_deploy.providers.kind import KindProvider, containerd_name, merge
from todo_deploy.steps.preflight import PreflightError

BUILT = {
    "frontend": "todo-frontend:c0ffee0",
    "backend": "todo-backend:c0ffee1",
    "mcp": "todo-mcp:c0ffee2",
    "postgres": "todo-postgres:c0ffee3",
}
CTX = "kubectl --context kind-todo"
NODE_IMAGES = "docker exec todo-control-plane ctr --namespace=k8s.io images list -q"
HELM_STATUS = "helm --namespace todo-app --kube-context kind-todo status todo -o json"


def installed(name: str) -> str:
    return f"/usr/local/bin/{name}"


def _provider(h: Harness, **flags) -> KindProvider:
    return KindProvider(h.config(provider="kind", **flags), h.runner, which=installed)


def _deploy(h: Harness, **flags) -> list[str]:
    provider = _provider(h, **flags)
    flow.deploy(h.target(provider.config, provider), hooks=h.hooks())
    return h.fake.lines


def _cluster(h: Harness, *, exists: bool, node_images: tuple[str, ...] = ()) -> None:
    h.fake.on("kind", "get", "clusters", stdout="other\ntodo\n" if exists else "other\n")
    h.fake.on("kind", "get", "nodes", stdout="todo-control-plane\n" if exists else "")
    h.fake.on("kubectl", "config", "get-contexts", stdout="kind-todo\n" if exists else "")
    listed = "\n".join(containerd_name(ref) for ref in node_images)
    h.fake.on("docker", "exec", "ctr", "images", "list", stdout=listed)


def _after_preflight(lines: list[str]) -> list[str]:
    return lines[next(i for i, line in enumerate(lines) if line.startswith("helm template")) + 1 :]


def test_first_deploy_creates_the_cluster_installs_traefik_and_loads_every_image(
    harness: Harness,
) -> None:
    h = harness
    _cluster(h, exists=False)
    h.fake.on("get", "ingressclass", rc=0, stdout={"items": []})
    h.fake.on("docker", "image", "inspect", traefik.IMAGE, stdout="sha256:abc\n")
    lines = _deploy(h)
    assert _after_preflight(lines)[:12] == [
        "kind get clusters",
        "kind create cluster --name todo --config -",
        f"{CTX} wait --for=condition=Ready node --all --timeout=300s",
        f"{CTX} get ingressclass -o json",
        "kind get nodes --name todo",
        NODE_IMAGES,
        f"docker image inspect --format '{{{{.Id}}}}' {traefik.IMAGE}",
        f"kind load docker-image --name todo {traefik.IMAGE}",
        f"{CTX} apply -f -",
        f"{CTX} -n traefik rollout status deployment/traefik --timeout=300s",
        "kind get nodes --name todo",
        NODE_IMAGES,
    ]
    assert f"kind load docker-image --name todo {' '.join(BUILT.values())}" in lines
    helm = next(line for line in lines if line.startswith("helm upgrade"))
    assert "--kube-context kind-todo" in helm and "ingress.ingressClassName=traefik" in helm
    created = next(c for c in h.fake.calls if c.argv[:3] == ("kind", "create", "cluster"))
    config = yaml.safe_load(created.stdin or "")
    node = config["nodes"][0]
    assert node["labels"] == {"ingress-ready": "true"}
    assert node["extraPortMappings"] == [
        {"containerPort": 80, "hostPort": 80, "listenAddress": "127.0.0.1", "protocol": "TCP"},
        {"containerPort": 443, "hostPort": 443, "listenAddress": "127.0.0.1", "protocol": "TCP"},
    ]
    assert 'config_path = "/etc/containerd/certs.d"' in config["containerdConfigPatches"][0]


def test_traefik_is_the_host_providers_version_class_and_rules() -> None:
    from todo_deploy.providers.host.addons import TRAEFIK_RULES
    from todo_deploy.providers.host.layout import TRAEFIK_VERSION

    by_kind = {o["kind"]: o for o in traefik.objects()}
    assert by_kind["IngressClass"]["metadata"]["name"] == "traefik"
    assert by_kind["ClusterRole"]["rules"] == TRAEFIK_RULES
    pod = by_kind["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == f"traefik:{TRAEFIK_VERSION}"
    assert {p["hostPort"] for p in container["ports"]} == {80, 443}
    assert pod["nodeSelector"] == {"ingress-ready": "true"}
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_traefik_objects_are_valid_kubernetes() -> None:
    from tests.support.chart_checks import validate_objects

    objects = [(f"traefik#{i}", o) for i, o in enumerate(traefik.objects())]
    assert validate_objects(objects) == []


def test_an_existing_cluster_with_an_ingress_class_loads_only_the_missing_tags(
    harness: Harness,
) -> None:
    h = harness
    _cluster(h, exists=True, node_images=(BUILT["frontend"], BUILT["postgres"], "other:1"))
    h.fake.on("get", "ingressclass", stdout={"items": [{"metadata": {"name": "nginx"}}]})
    lines = _deploy(h)
    assert not any(line.startswith("kind create") for line in lines)
    assert not any("traefik" in line for line in lines)
    loads = [line for line in lines if line.startswith("kind load")]
    assert loads == [f"kind load docker-image --name todo {BUILT['backend']} {BUILT['mcp']}"]
    helm = next(line for line in lines if line.startswith("helm upgrade"))
    assert "ingress.ingressClassName=nginx" in helm


def test_nothing_is_loaded_when_the_node_has_every_tag(harness: Harness) -> None:
    h = harness
    _cluster(h, exists=True, node_images=tuple(BUILT.values()))
    h.fake.on("get", "ingressclass", stdout={"items": [{"metadata": {"name": "traefik"}}]})
    lines = _deploy(h)
    assert not any(line.startswith("kind load") for line in lines)
    assert any("kind nodes already have" in line for line in h.printed)


def test_a_cluster_missing_from_the_kubeconfig_gets_its_context_exported(
    harness: Harness,
) -> None:
    h = harness
    _cluster(h, exists=True)
    h.fake.on("kubectl", "config", "get-contexts", stdout="kind-other\n")
    h.fake.on("get", "ingressclass", stdout={"items": [{"metadata": {"name": "traefik"}}]})
    _provider(h).up()
    assert h.fake.lines[:4] == [
        "kind get clusters",
        "kubectl config get-contexts -o name",
        "kind export kubeconfig --name todo",
        f"{CTX} wait --for=condition=Ready node --all --timeout=300s",
    ]


def test_node_image_ports_and_a_users_config_file_are_merged(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    extra = tmp_path / "kind.yaml"
    extra.write_text(
        yaml.safe_dump(
            {
                "networking": {"disableDefaultCNI": True, "podSubnet": "10.244.0.0/16"},
                "containerdConfigPatches": ["[plugins.x]\n"],
                "nodes": [{"role": "control-plane", "labels": {"tier": "ci"}}],
            }
        )
    )
    _cluster(h, exists=False)
    provider = _provider(
        h,
        **{
            "kind.node_image": "local/kind-node:v1.34.4",
            "kind.config_file": str(extra),
            "kind.http_port": 8080,
            "kind.https_port": 8443,
        },
    )
    provider.up()
    create = next(c for c in h.fake.calls if c.argv[:3] == ("kind", "create", "cluster"))
    assert create.line == (
        "kind create cluster --name todo --config - --image local/kind-node:v1.34.4"
    )
    config = yaml.safe_load(create.stdin or "")
    assert config["networking"] == {"disableDefaultCNI": True, "podSubnet": "10.244.0.0/16"}
    assert len(config["containerdConfigPatches"]) == 2
    node = config["nodes"][0]
    assert node["labels"] == {"ingress-ready": "true", "tier": "ci"}
    assert [p["hostPort"] for p in node["extraPortMappings"]] == [8080, 8443]
    assert provider.ingress("todo.local").url == "http://127.0.0.1:8080"


def test_merge_adds_extra_nodes_and_keeps_ours() -> None:
    ours = {"nodes": [{"role": "control-plane", "labels": {"a": "1"}}], "x": 1}
    theirs = {"nodes": [{"labels": {"b": "2"}}, {"role": "worker"}], "x": 2}
    assert merge(ours, theirs) == {
        "nodes": [{"role": "control-plane", "labels": {"a": "1", "b": "2"}}, {"role": "worker"}],
        "x": 2,
    }


def test_registry_on_loopback_pushes_and_configures_a_containerd_mirror(
    harness: Harness,
) -> None:
    h = harness
    _cluster(h, exists=True)
    h.fake.on("get", "ingressclass", stdout={"items": [{"metadata": {"name": "traefik"}}]})
    lines = _deploy(
        h, registry="localhost:5001/todo", **{"kind.registry_endpoint": "http://kind-registry:5000"}
    )
    mirror = next(c for c in h.fake.calls if c.argv[:3] == ("docker", "exec", "-i"))
    assert mirror.argv[3] == "todo-control-plane"
    assert "/etc/containerd/certs.d/localhost:5001/hosts.toml" in mirror.argv[-1]
    assert mirror.stdin == (
        'server = "http://localhost:5001"\n\n[host."http://kind-registry:5000"]\n'
    )
    remote = "localhost:5001/todo/todo-backend:c0ffee1"
    assert f"docker tag todo-backend:c0ffee1 {remote}" in lines
    assert f"docker push {remote}" in lines
    assert not any(line.startswith("kind load") for line in lines)
    helm = next(line for line in lines if line.startswith("helm upgrade"))
    assert f"images.backend.repository={remote.rsplit(':', 1)[0]}" in helm
    assert "images.backend.pullPolicy=IfNotPresent" in helm


def test_preflight_names_what_is_missing(harness: Harness) -> None:
    h = harness
    config = h.config(
        provider="kind", registry="127.0.0.1:5001", **{"kind.config_file": "/nowhere/kind.yaml"}
    )
    provider = KindProvider(config, h.runner, which=lambda name: None)
    with pytest.raises(PreflightError) as failure:
        flow.deploy(h.target(config, provider), hooks=h.hooks())
    problems = failure.value.problems
    assert problems[0].startswith("kind not found on PATH: install kind (")
    assert problems[1] == (
        "kind config file /nowhere/kind.yaml not found: fix deploy.kind.config_file"
    )
    assert "set deploy.kind.registry_endpoint" in problems[2]
    assert "127.0.0.1:5001" in problems[2]
    assert not any(line.startswith("kind") for line in h.fake.lines)


@pytest.mark.parametrize("delete", [False, True])
def test_teardown_cluster_deletes_the_kind_cluster(harness: Harness, delete: bool) -> None:
    h = harness
    _cluster(h, exists=True)
    h.fake.on("helm", "status", rc=1, stderr="Error: release: not found")
    provider = _provider(h)
    options = flow.TeardownOptions(cluster=True, delete_cluster=delete)
    flow.teardown(h.target(provider.config, provider), options=options)
    assert h.fake.lines[:2] == ["kind get clusters", f"{CTX} get --raw /readyz"]
    assert h.fake.lines[-2:] == ["kind get clusters", "kind delete cluster --name todo"]
    assert any("kind cannot stop a cluster" in line for line in h.printed) is not delete


def test_teardown_without_a_cluster_changes_nothing(harness: Harness) -> None:
    h = harness
    _cluster(h, exists=False)
    provider = _provider(h)
    options = flow.TeardownOptions(cluster=True)
    flow.teardown(h.target(provider.config, provider), options=options)
    assert h.fake.lines == ["kind get clusters", "kind get clusters"]
    assert "cluster not running" in h.out.getvalue()


def test_dry_run_deploy_on_no_cluster_only_reads(harness: Harness) -> None:
    h = harness
    _cluster(h, exists=False)
    h.runner.dry_run = True
    _deploy(h)
    printed = "\n".join(h.printed)
    assert "[dry-run] kind create cluster --name todo --config -" in printed
    assert "[dry-run] kind load docker-image --name todo" in printed
    ran = [line for line in h.fake.lines if line.startswith("kind")]
    assert set(ran) <= {"kind get clusters", "kind get nodes --name todo"}


@pytest.mark.parametrize(
    ("ref", "stored"),
    [("todo-backend:1", "docker.io/library/todo-backend:1"),
     ("traefik/whoami:1", "docker.io/traefik/whoami:1"),
     ("localhost:5001/todo/api:1", "localhost:5001/todo/api:1"),
     ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10")],
)  # fmt: skip
def test_containerd_names(ref: str, stored: str) -> None:
    assert containerd_name(ref) == stored
