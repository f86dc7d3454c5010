"""The exact command chain of `deploy` for each provider and method, on a fake executor."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from tests.support.fakes import FakeHostProvider, Harness
from todo_deploy.base.run import CommandError
from todo_deploy.flow import lifecycle as flow
from todo_deploy.providers.existing import ExistingProvider
from todo_deploy.providers.host.provider import HostProvider
from todo_deploy.providers.minikube import MinikubeProvider
from todo_deploy.steps import secrets
from todo_deploy.steps.preflight import PreflightError
from todo_deploy.steps.report import DeployReport
from todo_deploy.steps.verify import Verified

PREFLIGHT_MINIKUBE = [
    "docker --version",
    "kubectl version --client -o json",
    "helm version --short",
    "minikube version --short",
    "docker info --format '{{.ServerVersion}}'",
    "helm template todo CHART --namespace todo-app -f CHART/values-dev.yaml",
]


def helm_upgrade(context: str, ingress_class: str, refs: dict[str, str], values: str) -> str:
    sets = []
    for name, key in (
        ("backend", "backend"),
        ("frontend", "frontend"),
        ("mcp", "mcp"),
        ("postgres", "postgresql"),
    ):
        repository, tag = refs[name].rsplit(":", 1)
        sets += [
            f"--set-string images.{key}.repository={repository}",
            f"--set-string images.{key}.tag={tag}",
        ]
    return " ".join([
        "helm upgrade --install todo", "CHART", "--namespace todo-app --create-namespace",
        "--rollback-on-failure --wait --timeout 300s", f"--kube-context {context}",
        f"-f {values}", *sets,
        "--set existingSecret=todo-secrets", f"--set ingress.ingressClassName={ingress_class}",
        "--set ingress.host=todo.local",
        "--set-string existingSecretDigest=DIGEST",
    ])  # fmt: skip


def apply_secret(context: str) -> str:
    """Server-side, own field manager; prints only whether a stale annotation is left."""
    return (
        f"kubectl --context {context} apply --server-side --field-manager=todo-deploy "
        f"--force-conflicts -o 'go-template={secrets.STALE_TEMPLATE}' -f -"
    )


def helm_test(context: str) -> str:
    """verify ends with the chart's own test hook."""
    return f"helm --namespace todo-app --kube-context {context} test todo --timeout 120s --logs"


def installed(name: str) -> str:  # every loader tool is "installed"
    return f"/usr/local/bin/{name}"


BUILT = {
    "frontend": "todo-frontend:c0ffee0",
    "backend": "todo-backend:c0ffee1",
    "mcp": "todo-mcp:c0ffee2",
    "postgres": "todo-postgres:c0ffee3",
}


def _normalise(h: Harness, lines: list[str]) -> list[str]:
    # The digest of generated (random) secret values differs from run to run.
    lines = [
        re.sub(r"existingSecretDigest=[0-9a-f]+", "existingSecretDigest=DIGEST", line)
        for line in lines
    ]
    return [line.replace(h.paths()["chart"], "CHART") for line in lines]


def test_minikube_helm_first_deploy_chain(harness: Harness) -> None:
    h = harness
    config = h.config()
    provider = MinikubeProvider(config, h.runner)
    report = flow.deploy(h.target(config, provider), hooks=h.hooks())

    values = "CHART/values-dev.yaml"
    assert _normalise(h, h.fake.lines) == [
        *PREFLIGHT_MINIKUBE,
        "minikube status -o json -p todo",
        "minikube start --driver=docker --cni=calico --memory=4096 --cpus=2 -p todo",
        "minikube addons enable ingress -p todo",
        "kubectl --context todo -n ingress-nginx rollout status "
        "deployment/ingress-nginx-controller --timeout=300s",
        "kubectl --context todo -n ingress-nginx get endpoints "
        "ingress-nginx-controller-admission -o json",
        "minikube docker-env --shell none -o json -p todo",
        # The release's lock, held from here to the end (tests/unit/test_lock.py); its lease
        # is made in the namespace, so the secret's apply needs no namespace of its own.
        "kubectl --context todo create -f -",
        "kubectl --context todo -n todo-app get secret todo-secrets -o json",
        apply_secret("todo"),
        "helm --namespace todo-app --kube-context todo status todo -o json",
        helm_upgrade("todo", "nginx", BUILT, values),
        "minikube ip -p todo",
        "kubectl --context todo -n todo-app get deployments,statefulsets -o json",
        helm_test("todo"),
        "kubectl --context todo -n todo-app delete lease todo-release-lock --ignore-not-found "
        "--wait=false",
    ]
    # The build ran against minikube's engine, with its environment passed explicitly.
    assert h.builder.calls[0]["docker_env"]["DOCKER_HOST"] == "tcp://192.168.49.2:2376"
    assert h.builder.calls[0]["names"] == ["frontend", "backend", "mcp", "postgres"]
    assert [s.name for s in report.steps] == [
        "preflight",
        "cluster up",
        "images",
        "secrets",
        "release",
        "verify",
    ]
    assert all(s.status == "ok" for s in report.steps)
    assert report.hosts_line == "192.168.49.2 todo.local"
    assert report.urls["health"] == "http://192.168.49.2/health"


def test_minikube_already_running_is_not_started_again(harness: Harness) -> None:
    h = harness
    h.fake.on(
        "minikube",
        "status",
        stdout={"Host": "Running", "Kubelet": "Running", "APIServer": "Running"},
    )
    config = h.config()
    flow.deploy(h.target(config, MinikubeProvider(config, h.runner)), hooks=h.hooks())
    assert not any(line.startswith("minikube start") for line in h.fake.lines)
    assert "minikube addons enable ingress -p todo" in h.fake.lines


def test_kubectl_method_applies_namespace_first_then_waits_for_each_rollout(
    harness: Harness,
) -> None:
    h = harness
    config = h.config(method="kubectl")
    flow.deploy(h.target(config, MinikubeProvider(config, h.runner)), hooks=h.hooks())
    lines = h.fake.unlocked_lines
    after_secret = lines[lines.index("minikube docker-env --shell none -o json -p todo") + 3 :]
    assert after_secret == [
        "kubectl --context todo apply -f -",
        "kubectl --context todo apply -f -",
        "kubectl --context todo -n todo-app rollout status deployment/todo-backend --timeout=300s",
        "kubectl --context todo -n todo-app rollout status statefulset/todo-postgres "
        "--timeout=300s",
        "minikube ip -p todo",
        "kubectl --context todo -n todo-app get deployments,statefulsets -o json",
    ]
    applies = [c for c in h.fake.calls if c.argv[-3:] == ("apply", "-f", "-")]
    namespace_doc, rest = (json.loads(c.stdin or "{}") for c in applies[0:2])
    assert [d["kind"] for d in namespace_doc["items"]] == ["Namespace"]
    by_kind = {d["kind"]: d for d in rest["items"]}
    pod = by_kind["Deployment"]["spec"]["template"]["spec"]
    # The rendered manifests are pointed at the images just built, init container included.
    assert pod["containers"][0]["image"] == BUILT["backend"]
    assert pod["initContainers"][0]["image"] == BUILT["backend"]
    assert (
        by_kind["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]["image"]
        == (BUILT["postgres"])
    )
    assert by_kind["Ingress"]["spec"]["ingressClassName"] == "nginx"


def test_existing_kind_context_loads_each_image_with_kind(harness: Harness) -> None:
    h = harness
    h.fake.on("config", "current-context", stdout="kind-dev\n")
    h.fake.on(
        "get",
        "ingressclass",
        stdout={
            "items": [
                {"metadata": {"name": "contour"}},
                {
                    "metadata": {
                        "name": "nginx",
                        "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
                    }
                },
            ]
        },
    )
    config = h.config(provider="existing")
    provider = ExistingProvider(config, h.runner, which=installed)
    flow.deploy(h.target(config, provider), hooks=h.hooks())
    lines = h.fake.unlocked_lines
    assert lines[:5] == [
        "kubectl config current-context",
        "docker --version",
        "kubectl version --client -o json",
        "helm version --short",
        "docker info --format '{{.ServerVersion}}'",
    ]
    assert lines[5].startswith("helm template todo ")
    assert lines[6:8] == [
        "kubectl --context kind-dev get --raw /readyz",
        "kubectl --context kind-dev get ingressclass -o json",
    ]
    loads = [line for line in lines if line.startswith("kind load")]
    assert loads == [f"kind load docker-image --name dev {ref}" for ref in BUILT.values()]
    # Host-engine build: no docker environment is passed.
    assert h.builder.calls[0]["docker_env"] == {}
    assert any(
        "--kube-context kind-dev" in line and "ingressClassName=nginx" in line for line in lines
    )


def test_existing_with_registry_pushes_and_points_helm_at_the_registry(harness: Harness) -> None:
    h = harness
    h.fake.on("config", "current-context", stdout="gke_prod\n")
    config = h.config(provider="existing", registry="registry.example:5000/todo")
    provider = ExistingProvider(config, h.runner, which=installed)
    flow.deploy(h.target(config, provider), hooks=h.hooks())
    remote = "registry.example:5000/todo/todo-backend:c0ffee1"
    assert f"docker tag todo-backend:c0ffee1 {remote}" in h.fake.lines
    assert f"docker push {remote}" in h.fake.lines
    helm = next(line for line in h.fake.lines if line.startswith("helm upgrade"))
    assert "images.backend.repository=registry.example:5000/todo/todo-backend" in helm


def test_existing_k3d_context_imports_with_k3d(harness: Harness) -> None:
    h = harness
    h.fake.on("config", "current-context", stdout="k3d-lab\n")
    config = h.config(provider="existing")
    provider = ExistingProvider(config, h.runner, which=installed)
    flow.deploy(h.target(config, provider), hooks=h.hooks())
    assert "k3d image import -c lab todo-mcp:c0ffee2" in h.fake.lines


def test_host_provider_chain_uses_traefik_and_its_context(harness: Harness) -> None:
    h = harness
    provider = FakeHostProvider()
    config = h.config(provider="host")
    report = flow.deploy(h.target(config, provider), hooks=h.hooks())
    assert provider.events == ["preflight", "up", "docker_env", "load 4"]
    values = "CHART/values-dev.yaml"
    assert _normalise(h, h.fake.unlocked_lines) == [
        "docker --version",
        "kubectl version --client -o json",
        "helm version --short",
        "docker info --format '{{.ServerVersion}}'",
        "helm template todo CHART --namespace todo-app -f CHART/values-dev.yaml",
        "kubectl --context todo-host -n todo-app get secret todo-secrets -o json",
        apply_secret("todo-host"),
        "helm --namespace todo-app --kube-context todo-host status todo -o json",
        helm_upgrade("todo-host", "traefik", BUILT, values),
        "kubectl --context todo-host -n todo-app get deployments,statefulsets -o json",
        helm_test("todo-host"),
    ]
    assert report.urls["health"] == "http://127.0.0.1:8080/health"


def test_verify_failure_names_the_workload_and_doctor(harness: Harness) -> None:
    h = harness
    workloads = {
        "items": [
            {
                "kind": "Deployment",
                "metadata": {"name": "todo-backend"},
                "spec": {"replicas": 2},
                "status": {"readyReplicas": 1},
            }
        ]
    }
    h.fake.on("get", "deployments,statefulsets", stdout=workloads)
    config = h.config(provider="host")
    try:
        flow.deploy(h.target(config, FakeHostProvider()), hooks=h.hooks())
    except RuntimeError as exc:
        assert "deployment/todo-backend 1/2" in str(exc) and "invoke doctor" in str(exc)
    else:
        raise AssertionError("a half-ready deployment must fail verify")


@pytest.mark.parametrize(
    ("state", "unlock"),
    [
        ("pending-upgrade", "rollback todo --wait"),
        ("pending-install", "uninstall todo --wait"),
        # Deployed: compared with what these values render (here it differs), then upgraded.
        ("deployed", "get manifest todo"),
    ],
)
def test_a_release_left_pending_by_an_interrupted_run_is_unlocked_first(
    harness: Harness, state: str, unlock: str
) -> None:
    h = harness
    h.fake.on("helm", "status", stdout={"name": "todo", "info": {"status": state}})
    flow.deploy(h.target(h.config(provider="host"), FakeHostProvider()), hooks=h.hooks())
    helm = [line for line in h.fake.lines if line.startswith("helm") and " test " not in line][-2:]
    prefix = "helm --namespace todo-app --kube-context todo-host "
    assert helm[0] == prefix + unlock
    assert helm[1].startswith("helm upgrade --install")


def test_existing_provider_needs_the_loader_tool(harness: Harness) -> None:
    harness.fake.on("config", "current-context", stdout="kind-dev\n")
    config = harness.config(provider="existing")
    provider = ExistingProvider(config, harness.runner, which=lambda name: None)
    assert provider.preflight() == ["kind is needed to load images into kind-dev: install it"]


def test_the_configured_ingress_host_wins_over_the_providers_default(harness: Harness) -> None:
    h = harness
    asked: list[tuple[str, str]] = []
    hooks = h.hooks()

    def http_get(url: str, host: str) -> int:
        asked.append((url, host))
        return 200

    hooks.http_get = http_get
    report = flow.deploy(
        h.target(h.config(provider="host", ingress_host="suite.local"), FakeHostProvider()),
        hooks=hooks,
    )
    assert asked == [("http://127.0.0.1:8080/health", "suite.local")]
    assert report.hosts_line == "127.0.0.1 suite.local"
    assert report.urls["app"] == "http://suite.local/"


def test_kubectl_method_refuses_a_namespace_the_manifests_were_not_rendered_for(
    harness: Harness,
) -> None:
    h = harness
    config = h.config(method="kubectl", provider="host", namespace="elsewhere")
    with pytest.raises(PreflightError) as failure:
        flow.deploy(h.target(config, FakeHostProvider()), hooks=h.hooks())
    assert failure.value.problems == [
        f"{h.paths()['manifests_dir']}/ is rendered for namespace todo-app, not elsewhere: "
        "use --method helm for another namespace"
    ]


def test_a_failing_helm_test_fails_the_verify_step(harness: Harness) -> None:
    h = harness
    h.fake.on("helm", "test", rc=1, stderr="Error: 1 error occurred: pod todo-test-health failed")
    report = DeployReport(300)
    with pytest.raises(CommandError) as failed:
        flow.deploy(
            h.target(h.config(provider="host"), FakeHostProvider()), hooks=h.hooks(), report=report
        )
    assert "step failed: helm test" in failed.value.block()
    assert "pod todo-test-health failed" in failed.value.block()
    assert (report.steps[-1].name, report.steps[-1].status) == ("verify", "failed")


def test_a_minikube_cni_that_enforces_no_policy_is_said_in_the_report(harness: Harness) -> None:
    h = harness
    config = h.config(minikube={"cni": "bridge"})
    report = flow.deploy(h.target(config, MinikubeProvider(config, h.runner)), hooks=h.hooks())
    warned = [note for note in report.notes if note.startswith("warning: Minikube's CNI bridge")]
    assert len(warned) == 1 and "invoke isolation" in warned[0]
    calico = h.config()
    report = flow.deploy(h.target(calico, MinikubeProvider(calico, h.runner)), hooks=h.hooks())
    assert not [note for note in report.notes if "CNI" in note]


def test_a_kind_cluster_made_with_defaults_has_no_ingress_and_says_how_to_open_the_app(
    harness: Harness,
) -> None:
    """`kind create cluster` (context kind-kind): no IngressClass, no published ports."""
    h = harness
    h.fake.on("config", "current-context", stdout="kind-kind\n")
    h.fake.on("get", "ingressclass", stdout={"items": []})
    provider = ExistingProvider(h.config(provider="existing"), h.runner, which=installed)
    facts = provider.up()
    assert not facts.has_ingress
    assert "has no ingress controller" in facts.notes[0]
    assert "invoke port-forward -c frontend" in facts.notes[0]
    report = DeployReport(300)
    access = dataclasses.replace(provider.ingress("todo.local"), reachable=False)
    flow._describe_access(report, access)
    assert report.next_commands[0] == "invoke port-forward -c frontend"
    assert "app" not in report.urls and not report.hosts_line


def test_no_url_of_verify_own_port_forward_is_reported(harness: Harness, monkeypatch) -> None:
    """Without an ingress, verify checks /health through a port-forward that ends with it: the
    report must not hand the user that dead 127.0.0.1 URL."""
    h = harness
    forwarded = Verified({}, "http://127.0.0.1:42499/health", "port-forward")
    monkeypatch.setattr(flow, "verify", lambda target, access, get, alongside: forwarded)
    h.fake.on("config", "current-context", stdout="kind-kind\n")
    h.fake.on("get", "ingressclass", stdout={"items": []})
    config = h.config(provider="existing")
    provider = ExistingProvider(config, h.runner, which=installed)
    report = flow.deploy(h.target(config, provider), hooks=h.hooks())
    assert "health" not in report.urls
    assert report.next_commands[0] == "invoke port-forward -c frontend"


@pytest.mark.parametrize(
    ("versions", "middleware"),
    [("v1\ntraefik.io/v1alpha1\napps/v1\n", True), ("v1\napps/v1\n", False)],
)
def test_a_traefik_cluster_with_its_crds_gets_the_body_limit_middleware(
    harness: Harness, versions: str, middleware: bool
) -> None:
    """k3d's bundled Traefik serves its CRDs: the chart then limits bodies there too."""
    h = harness
    h.fake.on("config", "current-context", stdout="k3d-dev\n")
    default = {"ingressclass.kubernetes.io/is-default-class": "true"}
    classes = {"items": [{"metadata": {"name": "traefik", "annotations": default}}]}
    h.fake.on("get", "ingressclass", stdout=classes)
    h.fake.on("api-versions", stdout=versions)
    config = h.config(provider="existing")
    flow.deploy(
        h.target(config, ExistingProvider(config, h.runner, which=installed)), hooks=h.hooks()
    )
    helm = next(line for line in h.fake.lines if line.startswith("helm upgrade"))
    assert ("ingress.traefikMiddleware=true" in helm) is middleware


def _k3d_with_traefik_pods(h: Harness, pod_namespaces: list[str]) -> None:
    h.fake.on("config", "current-context", stdout="k3d-dev\n")
    traefik = {
        "metadata": {"name": "traefik"},
        "spec": {"controller": "traefik.io/ingress-controller"},
    }
    h.fake.on("get", "ingressclass", stdout={"items": [traefik]})
    pods = {"items": [{"metadata": {"namespace": ns}} for ns in pod_namespaces]}
    h.fake.on("get", "pods", "app.kubernetes.io/name=traefik", stdout=pods)


def _peers_flag(h: Harness) -> list[dict] | None:
    helm = next(c.argv for c in h.fake.calls if c.argv[:2] == ("helm", "upgrade"))
    flags = [helm[i + 1] for i, a in enumerate(helm) if a == "--set-json"]
    peers = [f.split("=", 1)[1] for f in flags if f.startswith("networkPolicy.")]
    return json.loads(peers[0]) if peers else None


def test_the_app_admits_the_ingress_controller_it_finds_and_no_other_pod(harness: Harness) -> None:
    """k3d's Traefik runs in kube-system: the front end and back end admit its pods only."""
    h = harness
    _k3d_with_traefik_pods(h, ["kube-system"])
    config = h.config(provider="existing")
    provider = ExistingProvider(config, h.runner, which=installed)
    flow.deploy(h.target(config, provider), hooks=h.hooks())
    assert _peers_flag(h) == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
        }
    ]


def test_a_controller_not_found_keeps_the_charts_peers_and_says_so(harness: Harness) -> None:
    h = harness
    _k3d_with_traefik_pods(h, [])
    provider = ExistingProvider(h.config(provider="existing"), h.runner, which=installed)
    facts = provider.up()
    assert facts.ingress_peers is None
    assert "networkPolicy.ingressControllerPeers" in facts.notes[0]


def test_peers_a_values_file_sets_are_never_overridden(harness: Harness, tmp_path) -> None:
    h = harness
    _k3d_with_traefik_pods(h, ["kube-system"])
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "networkPolicy:\n  ingressControllerPeers:\n    - ipBlock: {cidr: 10.0.0.5/32}\n"
    )
    config = h.config(provider="existing")
    config = config.model_copy(update={"values_files": [*config.values_files, str(mine)]})
    provider = ExistingProvider(config, h.runner, which=installed)
    flow.deploy(h.target(config, provider), hooks=h.hooks())
    assert _peers_flag(h) is None


def test_the_host_clusters_traefik_on_the_node_needs_no_peer(harness: Harness) -> None:
    """NetworkPolicy always admits a pod's own node, where the host cluster's Traefik runs."""
    h = harness
    config = h.config(provider="host")
    facts = HostProvider(config, h.runner).planned()
    assert facts.ingress_peers == ()
    provider = FakeHostProvider(facts=facts)
    flow.deploy(h.target(config, provider), hooks=h.hooks())
    assert _peers_flag(h) == []
