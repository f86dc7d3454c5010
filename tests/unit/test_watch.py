"""`invoke watch`: a save rebuilds and rolls only the image whose content tag changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.fakes import CHART, FakeHostProvider, Harness
from todo_deploy.base.paths import REPO_ROOT
from todo_deploy.base.run import CommandError, Result
from todo_deploy.base.tools import Tools
from todo_deploy.flow.watch import Watcher, file_batches, hashed_files, images_touched, watch_roots

ROOT = REPO_ROOT
# As deployed: the builder will give mcp the same ref again, the back end a new one.
DEPLOYED = {
    "images": {
        "frontend": {"repository": "todo-frontend", "tag": "f00"},
        "backend": {"repository": "todo-backend", "tag": "old"},
        "mcp": {"repository": "todo-mcp", "tag": "c0ffee1"},
        "postgresql": {"repository": "todo-postgres", "tag": "p00"},
    }
}


@pytest.fixture
def watcher(harness: Harness, tools: Tools) -> Watcher:
    harness.fake.on("helm", "get", "values", stdout=DEPLOYED)

    def helm_template(argv: tuple[str, ...], stdin: str | None) -> Result:
        """The pinned helm renders the real chart with the values the watcher sent."""
        real = [str(tools.path("helm")), "template", "todo", str(CHART), "--values", "-"]
        return tools.runner.run(real, stdin=stdin, mutating=False)

    harness.fake.answer("helm", "template", by=helm_template)
    provider = FakeHostProvider()
    return Watcher(harness.target(harness.config(provider="host"), provider), harness.hooks())


def _stdin(harness: Harness, *tokens: str) -> list[Any]:
    """What each call holding `tokens` was given on stdin, parsed."""
    calls = [c for c in harness.fake.calls if all(t in c.argv for t in tokens)]
    return [yaml.safe_load(c.stdin or "null") for c in calls]


def test_a_back_end_save_rolls_the_back_end_only(watcher: Watcher, harness: Harness) -> None:
    h = harness
    main = ROOT / "backend" / "todo_backend" / "main.py"
    rolled = watcher.handle([main])
    assert [(r.image, r.ref) for r in rolled] == [("backend", "todo-backend:c0ffee0")]
    assert h.builder.calls[-1]["names"] == ["backend"]  # the MCP image holds no API module
    chart = h.paths()["chart"]
    helm = "helm --namespace todo-app --kube-context todo-host"
    kubectl = "kubectl --context todo-host"
    # The chart's render of the back end alone is applied as helm's field manager, then the
    # release records the same values while the rollout is waited for.
    assert h.fake.lines[-4:-2] == [
        f"{helm} template todo {chart} --values -",
        f"{kubectl} apply --server-side --field-manager=helm -f -",
    ]
    assert sorted(h.fake.lines[-2:]) == sorted([
        f"{helm} upgrade todo {chart} --reset-values --values -",
        f"{kubectl} -n todo-app rollout status deployment/todo-backend --timeout=120s",
    ])  # fmt: skip
    [applied] = _stdin(h, "apply")
    assert [(d["kind"], d["metadata"]["name"]) for d in applied["items"]] == [
        ("Deployment", "todo-backend")
    ]
    annotations = applied["items"][0]["metadata"]["annotations"]
    assert annotations["meta.helm.sh/release-name"] == "todo"  # as helm's apply leaves them
    assert annotations["meta.helm.sh/release-namespace"] == "todo-app"
    [container] = applied["items"][0]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "todo-backend:c0ffee0"
    [template_values] = _stdin(h, "template")
    [upgrade_values] = _stdin(h, "upgrade")
    assert template_values == upgrade_values  # one render, so helm rolls nothing again
    assert upgrade_values["images"]["backend"] == {"repository": "todo-backend", "tag": "c0ffee0"}
    assert upgrade_values["images"]["mcp"] == DEPLOYED["images"]["mcp"]
    assert upgrade_values["rollingUpdate"] == {"maxUnavailable": "50%"}
    assert upgrade_values["migrateOnStart"] is False
    assert watcher.deployed["backend"] == "todo-backend:c0ffee0"
    before = list(h.fake.lines)
    assert watcher.handle([main]) == []  # same tag
    assert not [line for line in h.fake.lines[len(before) :] if "upgrade" in line]


def test_a_refused_apply_leaves_the_roll_to_helm(watcher: Watcher, harness: Harness) -> None:
    harness.fake.on("apply", "--server-side", rc=1, stderr="Apply failed with 1 conflict")
    watcher.handle([ROOT / "backend" / "todo_backend" / "main.py"])
    upgrade, rollout = harness.fake.lines[-2:]
    assert " upgrade todo " in upgrade and " rollout status " in rollout  # in that order
    assert watcher.deployed["backend"] == "todo-backend:c0ffee0"


def test_the_migrations_run_only_once_a_migration_is_saved(watcher: Watcher, harness: Harness):
    h = harness
    migration = sorted((ROOT / "backend" / "alembic" / "versions").glob("*.py"))[0]
    main = ROOT / "backend" / "todo_backend" / "main.py"

    def last_upgrade() -> bool:
        return _stdin(h, "upgrade")[-1]["migrateOnStart"]

    # The roll fails: the migration is still pending for the next save, whatever it touches.
    h.fake.on("rollout", "status", "deployment/todo-backend", rc=1, stderr="timed out")
    with pytest.raises(CommandError):
        watcher.handle([migration])
    assert last_upgrade() is True
    h.fake.on("rollout", "status", "deployment/todo-backend")
    assert watcher.handle([main])
    assert last_upgrade() is True
    assert not watcher.migrations_pending
    watcher.values["images"]["backend"]["tag"] = "another"  # so the next save rolls again
    assert watcher.handle([main])
    assert last_upgrade() is False


def test_a_domain_save_checks_both_images_that_hold_it(watcher: Watcher, harness: Harness):
    domain = ROOT / "backend" / "todo_backend" / "domain" / "tasks.py"
    watcher.handle([domain])
    assert harness.builder.calls[-1]["names"] == ["backend", "mcp"]


def test_a_save_that_changes_no_tag_rolls_nothing(watcher: Watcher, harness: Harness) -> None:
    harness.fake.on("helm", "get", "values", stdout=DEPLOYED)
    watcher.values["images"]["frontend"]["tag"] = "c0ffee0"  # what the builder will answer
    page = next(p for p in watcher.files["frontend"] if p.suffix == ".tsx")
    assert watcher.handle([page]) == []
    assert not [line for line in harness.fake.lines if " upgrade " in line]


def test_a_failed_roll_is_reported_and_watching_goes_on(watcher: Watcher, harness: Harness):
    harness.fake.on("helm", "upgrade", rc=1, stderr="Error: UPGRADE FAILED: timed out")
    said: list[str] = []
    main = ROOT / "backend" / "todo_backend" / "main.py"
    batches = [[main], [main]]
    assert watcher.run(batches, said.append) == []
    assert len(said) == 2 and all("not rolled" in s and "UPGRADE FAILED" in s for s in said)


def test_git_tags_cannot_watch(harness: Harness) -> None:
    config = harness.config(provider="host", image_tag_policy="git")
    with pytest.raises(RuntimeError, match="needs image_tag_policy: content"):
        Watcher(harness.target(config, FakeHostProvider()))


def test_no_release_values_means_deploy_first(harness: Harness) -> None:
    harness.fake.on("helm", "get", "values", stdout="null")
    with pytest.raises(RuntimeError, match="run `invoke deploy` first"):
        Watcher(harness.target(harness.config(provider="host"), FakeHostProvider()))


def test_the_watched_files_are_the_ones_the_tags_hash() -> None:
    roots = {p.relative_to(ROOT).as_posix() for p in watch_roots()}
    assert {"backend", "mcp", "frontend", "docker"} <= roots
    assert "README.md" not in roots and "tests" not in roots and "helm" not in roots
    files = hashed_files()
    page = next(p for p in files["frontend"] if p.suffix == ".tsx")
    assert images_touched([page], files, files) == ["frontend"]
    model = next(p for p in files["backend"] if p.name == "models.py")
    assert images_touched([model], files, files) == ["backend", "mcp"]  # MCP uses the domain
    ignored = ROOT / "backend" / "tests" / "test_new.py"  # .dockerignore keeps tests out
    assert images_touched([ignored], files, files) == []
    assert images_touched([Path("/elsewhere/file.py")], files, files) == []
    # a file new since the last batch, or one deleted, counts for the image it is (was) in
    added = ROOT / "mcp" / "todo_mcp" / "new_tool.py"
    now = {**files, "mcp": files["mcp"] | {added}}
    assert images_touched([added], files, now) == ["mcp"]
    assert images_touched([added], now, files) == ["mcp"]


def test_invoke_watch_refuses_dry_run_and_a_far_away_context(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env.update(KUBECONFIG=str(tmp_path / "none"), NO_COLOR="1")

    def invoke(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    dry = invoke("--dry", "watch")
    assert dry.returncode == 2 and "invoke --dry watch" in dry.stderr
    far = invoke("watch", "-p", "existing", "-k", "far-away")
    assert far.returncode == 2 and "refusing to deploy to kube context 'far-away'" in far.stderr


@pytest.mark.timeout(30)
def test_a_save_the_moment_watching_is_said_is_seen(tmp_path: Path) -> None:
    said: list[str] = []

    def ready() -> None:  # the e2e test and users save right after "watching"
        said.append("watching")
        (tmp_path / "saved.py").write_text("CHANGED = True\n")

    batch = next(iter(file_batches([tmp_path], ready=ready)))
    assert said == ["watching"]
    assert {Path(p).name for p in batch} == {"saved.py"}
