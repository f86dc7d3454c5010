"""Single-binary images FROM scratch, made with `docker import` (no registry, no base image)."""

from __future__ import annotations

import json
import tarfile
import tempfile
from pathlib import Path

from todo_deploy.base.run import Runner
from todo_deploy.providers.host.layout import COREDNS_IMAGE, PAUSE_IMAGE, Layout


def image_exists(runner: Runner, ref: str) -> bool:
    result = runner.run(
        ["docker", "image", "inspect", ref], step=f"inspect {ref}", check=False, mutating=False
    )
    return result.ok


def absent(runner: Runner, refs: list[str]) -> list[str]:
    """The refs the host's engine lacks: one call when it has them all, as a deploy finds."""
    every = runner.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", *refs], step="inspect images",
        check=False, mutating=False,
    )  # fmt: skip
    if every.ok or not refs:
        return []
    return [ref for ref in refs if not image_exists(runner, ref)]


def import_scratch_image(
    runner: Runner,
    ref: str,
    files: dict[str, Path],
    entrypoint: list[str],
    links: dict[str, str] | None = None,
    changes: tuple[str, ...] = (),
) -> None:
    """Make image `ref` holding `files` (path in image -> host file) and symlinks `links`;
    `changes` are further Dockerfile instructions (ENV, LABEL) for `docker import`."""
    with tempfile.TemporaryDirectory(prefix="todo-host-image-") as tmp:
        archive = Path(tmp) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            for inside, source in files.items():
                info = tar.gettarinfo(str(source), arcname=inside.lstrip("/"))
                info.uid = info.gid = 0
                info.mode = 0o755
                with source.open("rb") as handle:
                    tar.addfile(info, handle)
            for inside, target in (links or {}).items():
                link = tarfile.TarInfo(inside.lstrip("/"))
                link.type, link.linkname = tarfile.SYMTYPE, target
                tar.addfile(link)
            # Containers need /tmp and /etc for resolv.conf and hosts bind mounts.
            for directory in ("tmp", "etc"):
                entry = tarfile.TarInfo(directory)
                entry.type, entry.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
                tar.addfile(entry)
        instructions = (f"ENTRYPOINT {json.dumps(entrypoint)}", *changes)
        flags = [arg for change in instructions for arg in ("--change", change)]
        runner.run(["docker", "import", *flags, str(archive), ref], step=f"image {ref}")


def ensure_cluster_images(runner: Runner, layout: Layout) -> None:
    """The pod sandbox (pause) and CoreDNS images the node needs; nothing is ever pulled."""
    wanted = {
        PAUSE_IMAGE: ({"/pause": layout.binary("pause")}, ["/pause"]),
        COREDNS_IMAGE: ({"/coredns": layout.binary("coredns")}, ["/coredns"]),
    }
    for ref, (files, entrypoint) in wanted.items():
        if not image_exists(runner, ref):
            import_scratch_image(runner, ref, files, entrypoint)
