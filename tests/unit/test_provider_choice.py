"""`auto`: the user's running local cluster, else Minikube, else (root on Linux) the host build."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from todo_deploy import providers
from todo_deploy.base import clusters
from todo_deploy.base.config import DeployConfig
from todo_deploy.base.run import Runner
from todo_deploy.providers import Choice, KubeContext, ProviderError, choose, current_context


@pytest.fixture
def api_server() -> Iterator[str]:
    """A loopback port that accepts connections, standing in for a local API server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def dead_server() -> Iterator[str]:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"


def _kubeconfig(path: Path, current: str | None, servers: dict[str, str]) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in servers.items()],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in servers],
        "users": [{"name": n, "user": {}} for n in servers],
    }
    if current:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return path


def _choose(ctx: KubeContext | None, *, minikube: bool = False, root: bool = False, **kw) -> Choice:
    return choose(
        "auto",
        context=lambda: ctx,
        which=lambda n: "/bin/minikube" if minikube else None,
        is_linux_root=lambda: root,
        plan=lambda: ["host: builds X (long)"],
        **kw,
    )


# One context name per pattern of the list the context guard also uses (kind-* -> kind-dev).
LOCAL = [pattern.replace("*", "dev") for d in clusters.DISTRIBUTIONS for pattern in d.contexts]


@pytest.mark.parametrize("name", LOCAL)
def test_a_running_local_cluster_in_the_current_context_is_used_as_it_is(name, api_server):
    choice = _choose(KubeContext(name, api_server), minikube=True, root=True)
    assert choice == Choice("existing", f"auto: the current context {name} is a local cluster")


def test_the_kind_providers_own_cluster_goes_to_that_provider(api_server):
    owners = clusters.owned_contexts(DeployConfig())
    assert owners == {"kind-todo": "kind"}
    choice = _choose(KubeContext("kind-todo", api_server), owners=owners)
    assert choice == Choice("kind", "auto: the current context kind-todo is the kind cluster")
    assert _choose(KubeContext("kind-other", api_server), owners=owners).name == "existing"


def test_the_kind_context_stays_existing_without_a_kind_provider(api_server, monkeypatch):
    others = tuple(entry for entry in clusters.PROVIDERS if entry.name != "kind")
    monkeypatch.setattr(clusters, "PROVIDERS", others)
    owners = clusters.owned_contexts(DeployConfig())
    assert _choose(KubeContext("kind-todo", api_server), owners=owners).name == "existing"


def test_a_local_context_that_does_not_answer_falls_through_to_minikube(dead_server):
    choice = _choose(KubeContext("kind-dev", dead_server), minikube=True)
    assert choice.name == "minikube"
    assert f"the current context kind-dev does not answer at {dead_server}" in choice.why


def test_a_remote_context_is_never_picked_by_auto(api_server):
    assert _choose(KubeContext("gke_acme_europe-west1_prod", api_server), minikube=True).name == (
        "minikube"
    )


def test_minikube_when_installed_and_no_local_context():
    assert _choose(None, minikube=True, root=True) == Choice(
        "minikube", "auto: minikube is installed"
    )


def test_host_only_when_nothing_else_and_announced_with_plan_and_alternatives():
    choice = _choose(None, root=True)
    assert choice.name == "host" and "root on Linux" in choice.why
    assert choice.notice[0] == "host: builds X (long)"
    assert choice.notice[1].startswith("alternatives: make a running kind, k3d, Docker Desktop")
    assert "install Minikube" in choice.notice[1] and "--provider host" in choice.notice[1]


def test_nothing_usable_names_every_alternative(dead_server):
    with pytest.raises(ProviderError) as refused:
        _choose(KubeContext("k3d-lab", dead_server))
    message = str(refused.value)
    assert f"the current context k3d-lab does not answer at {dead_server}" in message
    assert "install Minikube" in message and "--provider host" in message


def test_a_requested_provider_is_taken_as_asked():
    assert choose("host", context=lambda: pytest.fail("not read")) == Choice("host", "requested")


def test_current_context_merges_kubeconfig_files_first_one_wins(tmp_path):
    first = _kubeconfig(tmp_path / "a", "kind-dev", {"kind-dev": "https://127.0.0.1:1"})
    second = _kubeconfig(tmp_path / "b", "other", {"kind-dev": "https://x:2", "other": "https://y"})
    env = {"KUBECONFIG": os.pathsep.join([str(tmp_path / "missing"), str(first), str(second)])}
    assert current_context(env) == KubeContext("kind-dev", "https://127.0.0.1:1")
    none = _kubeconfig(tmp_path / "c", None, {"kind-dev": "https://127.0.0.1:1"})
    assert current_context({"KUBECONFIG": str(none)}) is None


def test_auto_as_root_with_nothing_else_prints_the_host_build_first(tmp_path, monkeypatch, require):
    require(os.name == "posix" and os.geteuid() == 0, "root on Linux (the host provider)")
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kc", None, {})))
    monkeypatch.setenv("PATH", str(tmp_path))  # no minikube
    monkeypatch.setenv("TODO_DEPLOY_CACHE", str(tmp_path / "cache"))  # nothing built yet
    monkeypatch.setenv("TODO_HOST_STATE", str(tmp_path / "state"))
    said: list[str] = []

    provider = providers.get_provider(DeployConfig(), Runner(dry_run=True, printer=said.append))

    assert provider.name == "host"
    assert said[0].startswith("provider: host (auto: no local cluster context and no minikube")
    assert "Go modules first (kube-apiserver," in said[1] and "15-30 min" in said[1]
    assert said[2].startswith("  alternatives: ")


def test_a_wildcard_server_address_means_this_machine(api_server):
    port = api_server.rsplit(":", 1)[1]
    assert providers.server_answers(f"https://0.0.0.0:{port}")
    assert not providers.server_answers("https://:6443")  # no host at all
