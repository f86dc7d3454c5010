"""The values the suite sets on `helm upgrade` are accepted by the real chart and take effect.

Renders the chart with the pinned helm (`helm template` with the same -f/--set flags), so a
renamed chart value breaks this test rather than a deploy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from tests.support.fakes import FakeHostProvider
from todo_deploy.base.config import build_config, collection_defaults
from todo_deploy.base.run import Runner
from todo_deploy.base.tools import SPECS, Tools, cached_path
from todo_deploy.providers.base import ClusterFacts
from todo_deploy.steps import install
from todo_deploy.steps.target import Target

ROOT = Path(__file__).resolve().parents[2]
TRAEFIK = ClusterFacts("traefik")
REFS = {
    "frontend": "todo-frontend:f1",
    "backend": "todo-backend:b2",
    "mcp": "todo-mcp:m3",
    "postgres": "todo-postgres:p4",
}


@pytest.fixture
def helm(require) -> str:
    pinned = Tools(Runner(), prefer_path=False)
    cached = cached_path(SPECS["helm"], pinned.platform).exists()
    require(cached or shutil.which("npm") is not None, "npm (to fetch the pinned helm)")
    return pinned.helm


def _render(
    helm: str,
    external_database: bool = False,
    refs: dict = REFS,
    cluster: ClusterFacts = TRAEFIK,
    secret_digest: str = "",
) -> list[dict]:
    chart = ROOT / "helm" / "todo-app"
    layered = {
        **collection_defaults(),
        "chart": str(chart),
        "values_files": [str(chart / "values-dev.yaml")],
    }
    config = build_config(layered)
    provider = FakeHostProvider(kube_context="ctx")
    target = Target(config, Runner(), provider, Tools(helm=helm, kubectl="kubectl"), Console())
    values = install.value_flags(target, refs, cluster, external_database, secret_digest)
    argv = install.helm_argv(target, values)
    # Same chart, values and --set flags; `template` instead of talking to a cluster.
    install_only = {"--create-namespace", "--rollback-on-failure", "--wait"}
    flags, skip = [], False
    for arg in argv[5:]:
        if skip:
            skip = False
        elif arg in ("--timeout", "--kube-context"):
            skip = True
        elif arg not in install_only:
            flags.append(arg)
    result = Runner().run(
        [helm, "template", config.release, config.chart, *flags],
        step="helm template",
        mutating=False,
    )
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _images(docs: list[dict]) -> set[str]:
    return {
        c["image"]
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
        for c in d["spec"]["template"]["spec"]["containers"]
    }


def test_suite_values_reach_the_rendered_objects(helm: str) -> None:
    docs = _render(helm)
    assert _images(docs) == set(REFS.values())
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["spec"]["rules"][0]["host"] == "todo.local"
    # existingSecret: the chart renders no Secret of its own; the suite applies todo-secrets
    assert not [d for d in docs if d["kind"] == "Secret"]
    text = yaml.safe_dump_all(docs)
    assert "todo-secrets" in text


def test_external_database_runs_no_postgres(helm: str) -> None:
    docs = _render(helm, external_database=True)
    assert not [d for d in docs if d["kind"] == "StatefulSet"]


def test_an_all_digit_content_tag_stays_a_string(helm: str) -> None:
    # `--set tag=925682104412` would pass a number, which the chart's schema refuses.
    refs = {**REFS, "mcp": "todo-mcp:925682104412"}
    assert "todo-mcp:925682104412" in _images(_render(helm, refs=refs))


def _config_map(docs: list[dict]) -> dict[str, str]:
    return next(d for d in docs if d["kind"] == "ConfigMap")["data"]


@pytest.mark.parametrize(("port", "url"), [(0, "http://todo.local"), (80, "http://todo.local"),
                                           (8080, "http://todo.local:8080")])  # fmt: skip
def test_the_public_url_carries_the_port_people_reach_the_ingress_on(helm, port, url) -> None:
    # Sign-in compares the browser's Origin with BETTER_AUTH_URL: kind on :8080 needs the port.
    data = _config_map(_render(helm, cluster=ClusterFacts("traefik", port)))
    assert data["BETTER_AUTH_URL"] == url
    assert data["TRUSTED_ORIGINS"].split(",")[0] == url


def _pod_annotations(docs: list[dict]) -> dict[str, dict[str, str]]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"].get("annotations", {})
        for d in docs
        if d["kind"] in install.WORKLOAD_KINDS
    }


def test_a_changed_secret_restarts_the_app_pods_and_not_the_database(helm) -> None:
    # A key added to the suite's Secret (OPENAI_API_KEY) changes no chart value but the digest.
    before = _pod_annotations(_render(helm, secret_digest="1" * 16))
    after = _pod_annotations(_render(helm, secret_digest="2" * 16))
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"todo-frontend", "todo-backend", "todo-mcp"}, changed
    assert after["todo-backend"][install.SECRET_DIGEST_ANNOTATION] == "2" * 16
