"""kind's default storage (local-path-provisioner, StorageClass `standard`), made offline.

kind's own node image ships /kind/manifests/default-storage.yaml and two images; `kind create`
applies the manifest. Without it kind falls back to the in-tree host-path provisioner, whose
folders only root may write, unlike a laptop's. So the node image gets kind's manifest (read
from the kind module's source, the one place it is written) and the two images it names:
the provisioner built from its Go module, and a helper that runs its mkdir/rm scripts
(static busybox).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.kind import gobuild
from tests.support.kind.componentimages import PATH_ENV, ensure_labelled, scratch_maker
from todo_deploy.base.debian import ensure_packages
from todo_deploy.base.engine import DockerCli
from todo_deploy.providers.host.images import import_scratch_image

MANIFEST_INSIDE = "/kind/manifests/default-storage.yaml"
SOURCE = "pkg/build/nodeimage/const_storage.go"
BUSYBOX = Path("/bin/busybox")
# What the helper's setup and teardown scripts run.
HELPER_COMMANDS = ("sh", "mkdir", "rm", "chmod")
_CONSTANT = re.compile(r'^const (\w+) = "([^"]+)"$', re.MULTILINE)
_JOINED = re.compile(r"` \+ (\w+) \+ `")
_MANIFEST = re.compile(r"^const defaultStorageManifest = `(.*?)`", re.MULTILINE | re.DOTALL)


class StorageError(RuntimeError):
    pass


def default_storage(kind_module: Path) -> tuple[str, dict[str, str]]:
    """kind's storage manifest and its images by role (`storageProvisionerImage`, ...)."""
    source = (kind_module / SOURCE).read_text()
    images = dict(_CONSTANT.findall(source))
    wanted = {"storageProvisionerImage", "storageHelperImage"}
    if wanted <= set(images):
        # The Go expression joins raw strings and the image constants: `...` + name + `...`
        source = _JOINED.sub(lambda m: images.get(m.group(1), m.group(0)), source)
    found = _MANIFEST.search(source)
    if not found or not wanted <= set(images):
        raise StorageError(f"kind's {SOURCE} changed shape: update tests/support/kind/storage.py")
    return found.group(1), {name: images[name] for name in wanted}


def ensure_storage_images(docker: DockerCli, images: dict[str, str]) -> tuple[str, ...]:
    """The provisioner and helper images under the names kind's manifest uses."""
    runner = docker.runner
    provisioner = gobuild.ensure_program(runner, gobuild.LOCAL_PATH_PROVISIONER)
    scratch_maker(docker, provisioner, f"/usr/local/bin/{provisioner.name}")(
        images["storageProvisionerImage"]
    )
    # The static build: the plain `busybox` package is dynamic and cannot run FROM scratch.
    ensure_packages(runner, {"/usr/share/doc/busybox-static": "busybox-static"})
    helper = images["storageHelperImage"]
    links = {f"/bin/{name}": "busybox" for name in HELPER_COMMANDS}

    def make_helper(label: str) -> None:
        files = {"/bin/busybox": BUSYBOX}
        changes = (PATH_ENV, label)
        import_scratch_image(runner, helper, files, ["/bin/sh"], links=links, changes=changes)

    ensure_labelled(docker, helper, [BUSYBOX], make_helper)
    return tuple(images.values())
