"""Base images on this engine as the product finds or makes them (stand-ins built here from
Debian packages when nothing can be pulled): trimmed, cached by recipe, and able to do what our
Dockerfiles ask of them; a second call finds them without building anything."""

from __future__ import annotations

import shutil
import time

import pytest

from todo_deploy.steps.baseimages import BASES, ensure_base_images
from todo_deploy.steps.images import BUILD_TIMEOUT
from todo_deploy.steps.standins import SHADOW_DAY, Wanted, load, pack, settle, trim


def test_trim_drops_docs_keeps_copyright_and_apt_folders(tmp_path) -> None:
    doc = tmp_path / "usr/share/doc/libc6"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("license")
    (doc / "changelog.gz").write_text("history")
    (tmp_path / "usr/share/locale/de").mkdir(parents=True)
    (tmp_path / "var/lib/apt/lists").mkdir(parents=True)
    (tmp_path / "var/lib/apt/lists/deb.debian.org_Packages").write_text("index")
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/apt-get").write_text("")

    trim(tmp_path)

    assert (doc / "copyright").exists()
    assert not (doc / "changelog.gz").exists()
    assert not (tmp_path / "usr/share/locale").exists()
    assert list((tmp_path / "var/lib/apt/lists").iterdir()) == [
        tmp_path / "var/lib/apt/lists/partial"
    ]


@pytest.mark.docker
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_every_base_arg_gets_a_usable_image(docker) -> None:
    chosen = ensure_base_images(docker)
    assert set(chosen) == {base.arg for base in BASES}
    assert all(docker.image_id(ref) for ref in chosen.values())
    # The product's own call reuses what is there: no build, no pull.
    before = len(docker.runner.history)
    assert ensure_base_images(docker) == chosen
    assert not any("pull" in argv or "import" in argv for argv in docker.runner.history[before:])


@pytest.mark.docker
@pytest.mark.timeout(BUILD_TIMEOUT)
@pytest.mark.parametrize(
    ("arg", "command", "expected"),
    [
        ("PYTHON_IMAGE", ["python3", "-c", "import venv, ssl, sqlite3; print('ok')"], "ok"),
        ("NODE_IMAGE", ["npm", "--version"], "10."),
        ("NODE_RUNTIME_IMAGE", ["node", "-e", "console.log(process.version)"], "v20."),
        ("DEBIAN_IMAGE", ["apt-get", "--version"], "apt"),
    ],
)
def test_base_runs_what_our_dockerfiles_need(docker, arg, command, expected) -> None:
    ref = ensure_base_images(docker)[arg]
    out = docker.run("run", "--rm", "--user", "10001:10001", ref, *command, step=arg).stdout
    assert expected in out


@pytest.mark.docker
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_node_runtime_base_has_no_shell(docker) -> None:
    ref = ensure_base_images(docker)["NODE_RUNTIME_IMAGE"]
    if not ref.startswith("todo-base-"):
        pytest.skip(f"{ref} is an official image, not our distroless-style one")
    result = docker.run("run", "--rm", ref, "sh", "-c", "true", check=False, step="shell")
    assert not result.ok


def test_settle_empties_host_files_and_fixes_the_shadow_day(tmp_path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hostname").write_text("build-machine\n")
    (tmp_path / "etc/shadow").write_text("root:*:20794:0:99999:7:::\nnobody:!::0:99999:7:::\n")
    (tmp_path / "var/cache/ldconfig").mkdir(parents=True)
    (tmp_path / "var/cache/ldconfig/aux-cache").write_bytes(b"inodes")
    settle(tmp_path)
    assert (tmp_path / "etc/hostname").read_text() == ""
    assert (tmp_path / "etc/shadow").read_text() == (
        f"root:*:{SHADOW_DAY}:0:99999:7:::\nnobody:!::0:99999:7:::\n"
    )
    assert not (tmp_path / "var/cache/ldconfig").exists()


@pytest.mark.docker
def test_a_stand_in_made_again_is_the_same_image(docker, tmp_path) -> None:
    """Same files, made at another moment: the same bytes, so the same image id."""
    root, item = tmp_path / "root", Wanted("DEBIAN_IMAGE", "todo-test-stand-in:reproducible")
    ids = []
    for attempt in range(2):
        shutil.rmtree(root, ignore_errors=True)
        (root / "etc").mkdir(parents=True)
        (root / "etc/hostname").write_text(f"machine-{attempt}\n")  # as debootstrap copies it
        (root / "etc/os-release").write_text("ID=debian\n")  # written now: a new mtime each time
        settle(root)
        pack(docker.runner, root, tmp_path / "layer.tar")
        load(docker, tmp_path / "layer.tar", item, "test")
        ids.append(docker.image_id(item.tag))
        docker.run("rmi", item.tag, step="remove the test image")
        time.sleep(1.1)  # a later second: unclamped times would differ
    assert ids[0] and ids[0] == ids[1]
