"""Values files are laid over the chart's values as helm does (deeply), and the image the build
tags is the image the release names: a repository renamed in a values file is honoured."""

from __future__ import annotations

from pathlib import Path

from tests.support.fakes import CHART, FakeHostProvider, Harness
from todo_deploy.base import catalogue
from todo_deploy.base.catalogue import deep_merge
from todo_deploy.flow import lifecycle as flow


def test_deep_merge_merges_maps_and_replaces_the_rest() -> None:
    base = {"images": {"backend": {"repository": "todo-backend", "tag": "1"}, "mcp": {"tag": "2"}}}
    over = {"images": {"backend": {"repository": "myorg/todo-backend"}}, "hosts": ["a"]}
    backend = {"repository": "myorg/todo-backend", "tag": "1"}
    assert deep_merge(base, over) == {
        "images": {"backend": backend, "mcp": {"tag": "2"}},
        "hosts": ["a"],
    }
    assert deep_merge({"hosts": ["a", "b"]}, {"hosts": ["c"]}) == {"hosts": ["c"]}
    assert base["images"]["backend"]["repository"] == "todo-backend"  # inputs left alone


def test_a_values_file_that_renames_one_repository_keeps_the_others(tmp_path: Path) -> None:
    values = tmp_path / "mine.yaml"
    values.write_text("images:\n  backend:\n    repository: myorg/todo-backend\n")
    found = catalogue.load(CHART, [values])
    assert found["backend"].repository == "myorg/todo-backend"
    assert found["mcp"].repository == catalogue.default()["mcp"].repository


def test_the_build_tags_and_the_release_names_the_renamed_repository(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    values = tmp_path / "mine.yaml"
    values.write_text("images:\n  backend:\n    repository: myorg/todo-backend\n")
    config = h.config(provider="host")
    config = config.model_copy(update={"values_files": [*config.values_files, str(values)]})
    flow.deploy(h.target(config, FakeHostProvider()), hooks=h.hooks())
    assert h.builder.calls[0]["repositories"]["backend"] == "myorg/todo-backend"
    upgrade = next(line for line in h.fake.lines if line.startswith("helm upgrade"))
    assert "--set-string images.backend.repository=myorg/todo-backend" in upgrade
    assert "images.backend.repository=todo-backend " not in upgrade
