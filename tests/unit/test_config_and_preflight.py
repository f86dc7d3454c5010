"""Config precedence (defaults < invoke.yaml < INVOKE_* env < flags) and preflight messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke import Config

from tests.support.fakes import Harness
from todo_deploy.base.config import ConfigError, anchored, build_config, collection_defaults
from todo_deploy.providers.minikube import MinikubeProvider
from todo_deploy.steps.preflight import PreflightError, preflight


def _layered(tmp_path: Path, yaml_text: str, env: dict[str, str], monkeypatch) -> dict:
    """Build Invoke's own layered config exactly as the CLI does for this project."""
    (tmp_path / "invoke.yaml").write_text(yaml_text)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config = Config(project_location=tmp_path)
    config.load_collection({"deploy": collection_defaults()})
    config.load_project()
    config.load_shell_env()
    return config.deploy


def test_the_settings_paths_are_the_repositorys_wherever_a_task_starts(tmp_path: Path) -> None:
    (tmp_path / "my-cni.yaml").write_text("kind: List\n")
    flags = {
        "values_files": ["helm/todo-app/values-dev.yaml", "/elsewhere/extra.yaml"],
        "kind.config_file": "kind.yaml",
        "minikube.cni": "my-cni.yaml",
    }
    config = anchored(build_config(collection_defaults(), flags), tmp_path)
    assert (config.chart, config.manifests_dir) == (f"{tmp_path}/helm/todo-app", f"{tmp_path}/k8s")
    assert config.values_files == [
        f"{tmp_path}/helm/todo-app/values-dev.yaml",
        "/elsewhere/extra.yaml",
    ]
    assert (config.env_file, config.report_json) == (
        f"{tmp_path}/.env", f"{tmp_path}/build/deploy-report.json",
    )  # fmt: skip
    assert config.kind.config_file == f"{tmp_path}/kind.yaml"
    assert config.minikube.cni == f"{tmp_path}/my-cni.yaml"  # a manifest of the repository's
    named = anchored(build_config(collection_defaults(), {}), tmp_path)
    assert named.minikube.cni == "calico" and named.kind.config_file is None  # names stay


def test_each_layer_overrides_the_one_below(tmp_path: Path, monkeypatch) -> None:
    yaml_text = (
        "deploy:\n  namespace: from-yaml\n  release: from-yaml\n  method: kubectl\n"
        "  minikube:\n    memory_mb: 6144\n"
    )
    env = {
        "INVOKE_DEPLOY_RELEASE": "from-env",
        "INVOKE_DEPLOY_MINIKUBE_CPUS": "4",
        "INVOKE_DEPLOY_METHOD": "helm",
    }
    layered = _layered(tmp_path, yaml_text, env, monkeypatch)
    config = build_config(layered, {"method": "kubectl", "namespace": None})
    assert config.provider == "auto"  # default (no layer sets it)
    assert config.namespace == "from-yaml"  # yaml over default; a None flag is "not given"
    assert config.minikube.memory_mb == 6144  # yaml, nested
    assert config.release == "from-env"  # env over yaml
    assert config.minikube.cpus == 4  # env, nested and cast to int
    assert config.method == "kubectl"  # flag over env
    assert config.registry is None and config.kube_context is None


def test_project_invoke_yaml_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    config = Config(project_location=root)
    config.load_collection({"deploy": collection_defaults()})
    config.load_project()
    assert build_config(config.deploy).namespace == "todo-app"


@pytest.mark.parametrize(("key", "value"), [("provider", "k3s"), ("method", "kustomize")])
def test_unknown_provider_or_method_is_one_clear_error(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as failure:
        build_config(collection_defaults(), {key: value})
    message = str(failure.value)
    assert message.startswith("invalid deploy configuration:")
    assert f"{key}:" in message and repr(value) in message


def _preflight(h: Harness, memory_mb: int = 16000, **flags) -> list[str]:
    config = h.config(**flags)
    target = h.target(config, MinikubeProvider(config, h.runner))
    return preflight(target, **h.hooks(memory_mb).preflight)


def test_preflight_reports_versions_when_all_is_there(harness: Harness) -> None:
    found = _preflight(harness)
    assert found[:4] == [
        "docker 28.1.1",
        "kubectl v1.35.2",
        "helm v4.1.4+g1234",
        "minikube v1.36.0",
    ]
    assert "docker engine 28.1.1" in found


def test_preflight_reports_every_missing_thing_at_once(harness: Harness) -> None:
    h = harness
    h.fake.on("helm", "version", rc=127, stderr="helm: command not found")
    h.fake.on("minikube", "version", rc=127)
    h.fake.on("kubectl", "version", rc=127)
    h.fake.on("docker", "info", rc=1, stderr="Cannot connect to the Docker daemon")
    (h.project / "chart" / "Chart.yaml").unlink()
    with pytest.raises(PreflightError) as failure:
        _preflight(h, memory_mb=1500)
    problems = failure.value.problems
    assert len(problems) == 6
    expected = [
        "kubectl not found or not runnable (kubectl): install kubectl",
        "helm not found or not runnable (helm): install Helm",
        "minikube not found or not runnable (minikube): install Minikube",
        "could not start a Docker engine: no engine in unit tests",
        "chart not found at",
        "only 1500 MiB of memory available, 4096 MiB needed",
    ]
    for start, problem in zip(expected, problems, strict=True):
        assert problem.startswith(start), problem
    assert "nothing was changed" in str(failure.value)
    # Only read-only probes ran: nothing was started or applied.
    assert all(c.argv[1] in {"--version", "version", "info"} for c in h.fake.calls)


def test_missing_docker_client_skips_the_engine_probe(harness: Harness) -> None:
    harness.fake.on("docker", "--version", rc=127)
    with pytest.raises(PreflightError) as failure:
        _preflight(harness)
    assert failure.value.problems == [
        "docker not found or not runnable (docker): install Docker (Debian: `apt-get install "
        "docker.io`; macOS/Windows: Docker Desktop)"
    ]


def test_kubectl_method_needs_no_helm_but_the_manifests(harness: Harness) -> None:
    harness.fake.on("helm", "version", rc=127)
    for path in (harness.project / "k8s").iterdir():
        path.unlink()
    (harness.project / "k8s").rmdir()
    with pytest.raises(PreflightError) as failure:
        _preflight(harness, method="kubectl")
    assert len(failure.value.problems) == 1
    assert "render them with `invoke manifests`" in failure.value.problems[0]


def test_existing_provider_without_a_way_to_load_images(harness: Harness) -> None:
    from todo_deploy.providers.existing import ExistingProvider

    harness.fake.on("config", "current-context", stdout="gke_project_zone_prod\n")
    provider = ExistingProvider(harness.config(provider="existing"), harness.runner)
    (problem,) = provider.preflight()
    assert "gke_project_zone_prod" in problem and "--registry" in problem
