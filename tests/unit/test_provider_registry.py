"""Providers are registered once (base/clusters.py): the config, `auto`, the guard, preflight
and the help read the table, so a provider is its module and one entry there."""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.fakes import FakeHostProvider, Harness
from todo_deploy import providers
from todo_deploy.base import clusters
from todo_deploy.base.config import ConfigError, DeployConfig, build_config, collection_defaults
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import Tools
from todo_deploy.providers.existing import ExistingProvider
from todo_deploy.steps import guard, preflight
from todo_deploy.steps.target import Target

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS_DIR = ROOT / "todo_deploy" / "providers"
FAKE = clusters.ProviderEntry(
    "fake",
    "a test's stand-in cluster",
    f"{__name__}:FakeCluster",
    settings="kind",
    makes_cluster=False,
    own_context=lambda config: "fake-own",
    tools=("kind",),
    memory_mb=lambda config: 3333,
)
BUILT_IN = ("auto", "minikube", "kind", "existing", "host")


@dataclass
class FakeCluster(FakeHostProvider):
    name: str = "fake"
    kube_context: str = "fake-own"
    config: DeployConfig | None = None

    @classmethod
    def create(cls, config: DeployConfig, runner: Runner, tools: Tools) -> FakeCluster:
        return cls(config=config)


@pytest.fixture
def registered(monkeypatch) -> clusters.ProviderEntry:
    """FAKE added to the registry, as a new provider's entry would be: nothing else changes."""
    monkeypatch.setattr(clusters, "PROVIDERS", (*clusters.PROVIDERS, FAKE))
    return FAKE


def _provider_classes() -> set[str]:
    """`module:Class` of every provider class in providers/: a class with the Protocol's
    `up` and `load_images`, the Protocols aside (read from the source: an unregistered
    provider's module is never imported)."""
    found = set()
    for path in sorted(PROVIDERS_DIR.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and _provides(node) and not _protocol(node):
                found.add(f"{module}:{node.name}")
    return found


def _provides(node: ast.ClassDef) -> bool:
    methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
    return {"up", "load_images"} <= methods


def _protocol(node: ast.ClassDef) -> bool:
    return any(isinstance(base, ast.Name) and base.id == "Protocol" for base in node.bases)


def _imported(factory: str) -> Any:
    module, _, name = factory.partition(":")
    return getattr(importlib.import_module(module), name)


def test_every_provider_class_is_registered_under_its_name() -> None:
    registered = {entry.name: _imported(entry.factory) for entry in clusters.PROVIDERS}
    # Where the class is defined: the host package re-exports host/provider.py's.
    defined = {f"{cls.__module__}:{cls.__name__}" for cls in registered.values()}
    assert defined == _provider_classes(), "a provider class without an entry in base/clusters.py"
    assert {name: cls.name for name, cls in registered.items()} == {n: n for n in registered}
    assert all(callable(cls.create) for cls in registered.values())


def test_the_registry_holds_the_built_in_providers_with_valid_settings() -> None:
    assert clusters.provider_choices() == BUILT_IN
    sections = DeployConfig.model_fields
    for entry in clusters.PROVIDERS:
        assert entry.settings is None or entry.settings in sections, entry.name


def test_the_configs_choices_are_the_registrys_names() -> None:
    for name in clusters.provider_choices():
        assert build_config(collection_defaults(), {"provider": name}).provider == name
    with pytest.raises(ConfigError) as refused:
        build_config(collection_defaults(), {"provider": "k3s"})
    listed = "'auto', 'minikube', 'kind', 'existing' or 'host'"
    assert f"provider: Input should be {listed}; got 'k3s'" in str(refused.value)


def test_a_registered_provider_is_selectable_by_name_through_config_and_factory(
    registered,
) -> None:
    said: list[str] = []
    config = build_config(collection_defaults(), {"provider": "fake"})
    provider = providers.get_provider(config, Runner(dry_run=True, printer=said.append), Tools())
    assert isinstance(provider, FakeCluster) and provider.config == config
    assert said == ["provider: fake (requested)"]
    with pytest.raises(ConfigError, match="'existing', 'host' or 'fake'; got 'k3s'"):
        build_config(collection_defaults(), {"provider": "k3s"})


def test_a_registered_provider_is_read_by_auto_the_guard_and_preflight(
    registered, monkeypatch
) -> None:
    assert clusters.owned_contexts(DeployConfig())["fake-own"] == "fake"
    assert not guard.looks_local("fake", "prod-eu")  # it does not make its cluster
    own_cluster = FAKE._replace(makes_cluster=True)
    monkeypatch.setattr(clusters, "PROVIDERS", (*clusters.PROVIDERS[:-1], own_cluster))
    assert guard.looks_local("fake", "prod-eu")
    problems: list[str] = []
    tools = Tools(kubectl="kubectl", helm="helm", kind="/opt/kind")
    probes = preflight._tool_probes(DeployConfig(), "fake", tools, problems)
    assert ("kind", ["/opt/kind", "version"]) in probes and problems == []
    found: list[str] = []
    preflight._check_memory(DeployConfig(), "fake", 4000, found, problems)
    assert found == ["memory available 4000 MiB (needs 3333)"]


def test_a_registered_providers_broken_tool_is_a_problem_with_a_hint(
    registered, harness: Harness
) -> None:
    harness.fake.on("/opt/kind", "version", rc=127, stderr="not found")
    config = harness.config(provider="fake")
    tools = Tools(helm="helm", kubectl="kubectl", kind="/opt/kind")
    target = Target(config, harness.runner, FakeCluster(config=config), tools, harness.console)
    with pytest.raises(preflight.PreflightError) as failure:
        preflight.preflight(target, **harness.hooks(16000).preflight)
    assert failure.value.problems == ["kind not found or not runnable (/opt/kind): install kind"]


# The registry is patched before `tasks` is imported: help strings are built at import.
HELP_SCRIPT = f"""
import json
from todo_deploy.base import clusters
from {__name__} import FAKE
clusters.PROVIDERS = (*clusters.PROVIDERS, FAKE)
import tasks
helps = {{}}
for name in ("deploy", "status", "cluster.up", "cluster.down"):
    (arg,) = [a for a in tasks.ns[name].get_arguments() if a.name == "provider"]
    helps[name] = arg.help
print(json.dumps(helps))
"""


def test_a_registered_provider_appears_in_the_help() -> None:
    out = subprocess.run(
        [sys.executable, "-c", HELP_SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True
    )
    helps = json.loads(out.stdout)
    assert "auto, minikube, kind, existing, host or fake" in helps["deploy"] == helps["status"]
    assert "fake: a test's stand-in cluster (deploy.kind.*)" in helps["cluster.up"]
    assert helps["cluster.up"] == helps["cluster.down"]


def test_existing_loads_images_as_the_distribution_table_says() -> None:
    contexts = ("kind-dev", "k3d-lab", "minikube", "docker-desktop", "orbstack", "gke_x")
    loads = {
        context: ExistingProvider(DeployConfig(kube_context=context), Runner()).loader()
        for context in contexts
    }
    assert loads == {
        "kind-dev": ["kind", "load", "docker-image", "--name", "dev"],
        "k3d-lab": ["k3d", "image", "import", "-c", "lab"],
        "minikube": ["minikube", "image", "load", "-p", "minikube"],
        "docker-desktop": [],  # its nodes run on the host's engine
        "orbstack": None,  # no load command: --registry
        "gke_x": None,
    }


def test_the_docs_list_the_registered_providers() -> None:
    names = clusters.provider_choices()
    comment = re.search(r"^  provider: auto +# (.*)$", (ROOT / "invoke.yaml").read_text(), re.M)
    assert comment and comment[1].split(" | ") == list(names)
    readme = (ROOT / "README.md").read_text()
    table = readme.split("\n## Providers\n", 1)[1].split("\n## ", 1)[0]
    assert sorted(re.findall(r"^\| `([a-z]+)`", table, re.M)) == sorted(names)
    setting = ", ".join(f"`{name}`" for name in names)
    assert f"| `provider` | `auto` | {setting} |" in readme
    suite_readme = (ROOT / "todo_deploy" / "README.md").read_text()
    assert f"provider ({'|'.join(names)})" in suite_readme
