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

from todo_deploy import binaries, install
from todo_deploy.config import build_config, collection_defaults
from todo_deploy.run import Runner
from todo_deploy.target import Target
from todo_deploy.tools import Tools

ROOT = Path(__file__).resolve().parents[2]
REFS = {"frontend": "todo-frontend:f1", "backend": "todo-backend:b2", "mcp": "todo-mcp:m3",
        "postgres": "todo-postgres:p4"}  # fmt: skip


class ContextOnly:
    """All helm_argv asks of a provider: its kube context."""

    kube_context = "ctx"


@pytest.fixture
def helm(require) -> str:
    cached = (binaries.bin_dir() / "helm").exists()
    require(cached or shutil.which("npm") is not None, "npm (to fetch the pinned helm)")
    return str(binaries.ensure(Runner()).helm)


def _render(helm: str, external_database: bool = False, refs: dict = REFS) -> list[dict]:
    chart = ROOT / "helm" / "todo-app"
    layered = {**collection_defaults(), "chart": str(chart),
               "values_files": [str(chart / "values-dev.yaml")]}  # fmt: skip
    config = build_config(layered)
    target = Target(config, Runner(), ContextOnly(), Tools(helm, "kubectl"), Console())
    argv = install.helm_argv(target, refs, "traefik", external_database)
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
    result = Runner().run([helm, "template", config.release, config.chart, *flags],
                          step="helm template", mutating=False)  # fmt: skip
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _images(docs: list[dict]) -> set[str]:
    return {c["image"] for d in docs if d["kind"] in ("Deployment", "StatefulSet")
            for c in d["spec"]["template"]["spec"]["containers"]}  # fmt: skip


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
