"""Which base image a build uses: the official one, present or pulled, else a stand-in by tag,
else one built here (announced first), else one message with the way out; and an image whose
sources are unchanged needs no base at all."""

from __future__ import annotations

import pytest

from tests.support.fakes import FakeEngine, Harness
from todo_deploy.base.engine import FACTS_FORMAT, DockerCli
from todo_deploy.steps import standins
from todo_deploy.steps.baseimages import BaseImageError, ensure_base_images, plan_lines
from todo_deploy.steps.images import SOURCE_LABEL, SPECS, Builder, source_digest

ID = "{{.Id}}"
LABEL = f'{{{{index .Config.Labels "{standins.RECIPE_LABEL}"}}}}'
OFFLINE = "dial tcp: lookup registry-1.docker.io: no such host"


def _docker(h: Harness, *present: str) -> DockerCli:
    _engine(h, *present)
    return DockerCli(h.runner)


def _engine(h: Harness, *present: str) -> FakeEngine:
    engine = FakeEngine().install(h.fake)
    for ref in present:
        engine.add(ref)
    return engine


def test_the_official_image_is_used_when_present_or_pulled(harness: Harness) -> None:
    h = harness
    docker = _docker(h, "python:3.11-slim")
    assert ensure_base_images(docker, only={"PYTHON_IMAGE", "DEBIAN_IMAGE"}) == {
        "PYTHON_IMAGE": "python:3.11-slim",
        "DEBIAN_IMAGE": "debian:bookworm-slim",
    }
    assert [line for line in h.fake.lines if "pull" in line] == ["docker pull debian:bookworm-slim"]


def test_a_stand_in_someone_tagged_is_used_when_the_official_image_is_absent(
    harness: Harness,
) -> None:
    h = harness
    docker = _docker(h, "todo-base-python:3.11-bookworm")
    assert ensure_base_images(docker, only={"PYTHON_IMAGE"}) == {
        "PYTHON_IMAGE": "todo-base-python:3.11-bookworm"
    }
    assert not [line for line in h.fake.lines if "pull" in line]


def test_a_stand_in_of_an_older_recipe_is_not_used(harness: Harness) -> None:
    h = harness
    engine, docker, tag = _engine(h), DockerCli(h.runner), "todo-base-python:3.11-bookworm"
    engine.add(tag, labels={standins.RECIPE_LABEL: "0ld"})
    assert not standins.is_current(docker, tag)
    engine.add(tag, labels={standins.RECIPE_LABEL: standins.recipe_digest()})
    docker.forget()
    assert standins.is_current(docker, tag)
    engine.add(tag)  # tagged by someone else: no label of ours
    docker.forget()
    assert standins.is_current(docker, tag)


def test_nothing_pullable_and_nothing_buildable_names_the_images_and_the_way_out(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    docker = _docker(h)
    h.fake.on("docker", "pull", rc=1, stderr=OFFLINE)
    monkeypatch.setattr(standins, "why_not", lambda wanted: "building them needs root")
    with pytest.raises(BaseImageError) as raised:
        ensure_base_images(docker, only={"NODE_IMAGE", "NODE_RUNTIME_IMAGE"})
    message = str(raised.value)
    assert "could not pull the base images node:20-slim " in message
    assert "docker tag <image> todo-base-node:20-bookworm" in message
    assert "docker tag <image> todo-base-node-runtime:20-bookworm" in message
    assert "not built here: building them needs root" in message
    assert f"({OFFLINE})" in message  # the engine's own reason
    assert not [line for line in h.fake.lines if "import" in line or "debootstrap" in line]


def test_offline_on_a_machine_that_can_the_stand_ins_are_announced_then_built(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    docker = _docker(h)
    h.fake.on("docker", "pull", rc=1, stderr=OFFLINE)
    built: list[list[str]] = []
    monkeypatch.setattr(standins, "why_not", lambda wanted: None)

    def build(docker: DockerCli, wanted: list[standins.Wanted]) -> float:
        built.append([w.tag for w in wanted])
        return 42.0

    monkeypatch.setattr(standins, "build", build)
    chosen = ensure_base_images(docker, only={"PYTHON_IMAGE", "DEBIAN_IMAGE"})
    assert chosen == {
        "PYTHON_IMAGE": "todo-base-python:3.11-bookworm",
        "DEBIAN_IMAGE": "todo-base-debian:bookworm",
    }
    assert built == [["todo-base-debian:bookworm", "todo-base-python:3.11-bookworm"]]
    said = "\n".join(h.printed)
    assert f"cannot be pulled ({OFFLINE})" in said and "building todo-base-debian:bookworm" in said
    assert standins.FIRST_BUILD in said and "Built todo-base-debian:bookworm" in said
    assert said.index("cannot be pulled") < said.index("Built ")


def test_a_failed_stand_in_build_says_what_failed_and_the_way_out(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    docker = _docker(h)
    h.fake.on("docker", "pull", rc=1, stderr=OFFLINE)
    monkeypatch.setattr(standins, "why_not", lambda wanted: None)

    def broken(docker: DockerCli, wanted: object) -> float:
        raise RuntimeError("debootstrap: E: Failed getting release file")

    monkeypatch.setattr(standins, "build", broken)
    with pytest.raises(BaseImageError) as raised:
        ensure_base_images(docker, only={"DEBIAN_IMAGE"})
    assert "Failed getting release file" in str(raised.value)
    assert "docker tag <image> todo-base-debian:bookworm" in str(raised.value)


def test_the_dry_run_plan_says_pull_else_build_without_doing_either(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    docker = _docker(h, "python:3.11-slim")
    monkeypatch.setattr(standins, "why_not", lambda wanted: None)
    lines = plan_lines(docker, {"PYTHON_IMAGE", "DEBIAN_IMAGE"})
    assert lines[0] == "DEBIAN_IMAGE: pull debian:bookworm-slim, else build " + (
        f"todo-base-debian:bookworm from Debian packages ({standins.FIRST_BUILD} the first time)"
    )
    assert lines[1] == "PYTHON_IMAGE: python:3.11-slim (on the engine)"
    assert not [line for line in h.fake.lines if "pull" in line or "import" in line]


def test_unchanged_sources_are_reused_with_no_base_on_the_engine(harness: Harness) -> None:
    """A pruned engine that still holds the app's images: nothing pulled, built or refused."""
    h = harness
    engine, docker = _engine(h), DockerCli(h.runner)
    spec = SPECS["backend"]
    source = source_digest(spec)
    h.fake.on(
        "docker", "image", "ls", f"--filter=label={SOURCE_LABEL}={source}",
        stdout=f"{spec.image}:<none>\n{spec.image}:0123456789ab\n",
    )  # fmt: skip
    engine.add(f"{spec.image}:0123456789ab", id="sha256:2", size=241000000)
    built = Builder(docker).build(["backend"])
    assert built["backend"].ref == f"{spec.image}:0123456789ab"
    assert built["backend"].reused and built["backend"].size_bytes == 241000000
    assert built["backend"].base_absent
    assert not [line for line in h.fake.lines if " pull " in line or " build " in line]


def test_a_changed_source_with_no_base_needs_the_base(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    docker = _docker(h)
    h.fake.on("docker", "pull", rc=1, stderr=OFFLINE)
    monkeypatch.setattr(standins, "why_not", lambda wanted: "building them needs root")
    with pytest.raises(BaseImageError, match=r"python:3\.11-slim"):
        Builder(docker).build(["backend"])


def test_the_dry_run_plans_each_image_and_the_bases_it_lacks(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    docker = _docker(h, "python:3.11-slim")
    monkeypatch.setattr(standins, "why_not", lambda wanted: "building them needs root")
    lines = Builder(docker).plan(["backend", "postgres"])
    assert lines == [
        "backend: build todo-backend:CONTENT-TAG from python:3.11-slim",
        "postgres: build todo-postgres:CONTENT-TAG from DEBIAN_IMAGE",
        "DEBIAN_IMAGE: pull debian:bookworm-slim, else this machine cannot build a stand-in "
        "(building them needs root)",
    ]
    assert not [line for line in h.fake.lines if " pull " in line or " build " in line]


def test_one_inspect_answers_for_every_image_found_or_missing(harness: Harness) -> None:
    h = harness
    engine = _engine(h, "todo-base-python:3.11-bookworm", "todo-backend:c0ffee1")
    docker = DockerCli(h.runner)
    docker.look_up(["python:3.11-slim", "todo-base-python:3.11-bookworm", "todo-backend:c0ffee1"])
    assert len(h.fake.calls) == 1  # Docker 28 answers a batch with some images missing
    assert docker.facts("python:3.11-slim") is None
    assert docker.image_id("todo-backend:c0ffee1") == "sha256:1"
    assert len(h.fake.calls) == 1  # known now: not asked again
    engine.add("python:3.11-slim", id="sha256:9")
    docker.run("pull", "python:3.11-slim")  # changes the engine: what was learnt is forgotten
    assert docker.image_id("python:3.11-slim") == "sha256:9"


def test_an_image_found_under_another_name_is_asked_about_alone(harness: Harness) -> None:
    h = harness
    engine = _engine(h, "debian:bookworm-slim")
    engine.images["docker.io/library/node:20-slim"] = engine.images["debian:bookworm-slim"]
    h.fake.on("inspect", "--format", FACTS_FORMAT, "node:20-slim", stdout=(
        '["docker.io/library/node:20-slim"]\tsha256:7\t5\tnull\n'
    ))  # fmt: skip
    docker = DockerCli(h.runner)
    docker.look_up(["node:20-slim", "nope:1"])
    assert docker.image_id("node:20-slim") == "sha256:7" and docker.facts("nope:1") is None
