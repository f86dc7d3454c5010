"""Stand-in base images, made on this machine from Debian packages when none can be pulled.

Part of the offline path, beside the `host` provider: a root Linux machine (Debian or Ubuntu)
that reaches its distribution's packages but no container registry can still build our images.
A laptop that pulls the official bases never comes here. What is made, once per recipe:

- Debian bookworm minbase (debootstrap), trimmed of docs, locales and apt caches;
- Python 3.11 = that plus bookworm's python3 and python3-venv;
- Node 20 for building = that plus the node binary of the npm package node-linux-<cpu> and npm;
- Node 20 for running = distroless-style: glibc, libstdc++ and node only (no shell, no npm),
  which is what keeps the front end image far under its size budget.

Each image carries a label with the hash of its recipe: an image of an older recipe is rebuilt,
an image someone else tagged (no label) is used as it is. The same recipe and the same Debian
packages give the same bytes and so the same image id (times clamped, host files emptied, the
image config written here): a stand-in rebuilt after a prune is the image it was, and the app
images built on it are still current.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import platform
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from todo_deploy.base import paths
from todo_deploy.base.engine import DockerCli, is_debian_like
from todo_deploy.base.run import Runner

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
RECIPE_LABEL = "org.todo-deploy.stand-in-recipe"
# Measured on 2 cores (the CI machine kind): all four, first time, .deb files not yet cached.
FIRST_BUILD = "about 2 minutes"
# Per CPU: Debian's name, its multiarch triplet, and node's name (npm node-linux-<name>).
CPUS = {
    "x86_64": ("amd64", "x86_64-linux-gnu", "x64"),
    "aarch64": ("arm64", "aarch64-linux-gnu", "arm64"),
}
NPM_PACKAGE = "npm@10"
# Trimmed from every local base: nothing at run time reads them.
TRIM = (
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "usr/lib/{triplet}/gconv",
    "var/cache/apt",
    "var/lib/apt/lists",
    "var/log",
)
# What node needs from Debian to run (glibc, libstdc++ and their base).
NODE_RUNTIME_DEBS = ("libc6", "libgcc-s1", "libstdc++6", "gcc-12-base")
PASSWD = "root:x:0:0:root:/root:/sbin/nologin\napp:x:10001:10001:app:/tmp:/sbin/nologin\n"
GROUP = "root:x:0:\napp:x:10001:\n"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Each base's image config (by its Dockerfile ARG): environment and command.
IMAGE_CONFIG = {
    "DEBIAN_IMAGE": ((PATH_ENV, "LANG=C.UTF-8"), ("bash",)),
    "PYTHON_IMAGE": ((PATH_ENV, "LANG=C.UTF-8"), ("python3",)),
    "NODE_IMAGE": ((PATH_ENV, "LANG=C.UTF-8"), ("node",)),
    "NODE_RUNTIME_IMAGE": ((PATH_ENV, "LANG=C.UTF-8", "HOME=/tmp"), ("node",)),
}
# Every file time later than this is set to it, and it is the images' creation time: the same
# packages then give the same bytes whenever they are built.
CLAMP_EPOCH = 1796083200  # 2026-12-01T00:00:00Z
CREATED = "2026-12-01T00:00:00Z"
SHADOW_DAY = "20788"  # /etc/shadow's "last changed" field (days since 1970) at CLAMP_EPOCH
# Written at install time with this machine's or this moment's values; containers get their own.
HOST_FILES = ("etc/hostname", "etc/resolv.conf", "etc/machine-id")
NEEDS_NODE = ("NODE_IMAGE", "NODE_RUNTIME_IMAGE")
# Emptied, not removed: apt-get refuses to run without them.
APT_DIRS = ("var/log/apt", "var/cache/apt/archives/partial", "var/lib/apt/lists/partial")


class StandInError(RuntimeError):
    """A stand-in could not be built."""


@dataclass(frozen=True)
class Wanted:
    arg: str  # the Dockerfile ARG it stands in for
    tag: str  # the stand-in tag our builds use


def cache_dir() -> Path:
    """Downloaded .deb and npm archives, kept so a rebuild does not fetch them again."""
    return paths.cache_root() / "stand-in-bases"


def cpu() -> tuple[str, str, str]:
    """(Debian architecture, multiarch triplet, node's CPU name) of this machine."""
    machine = platform.machine().lower()
    found = CPUS.get("aarch64" if machine == "arm64" else machine)
    if found is None:
        raise StandInError(f"no stand-in recipe for the CPU {machine}")
    return found


def mirror(sources: Sequence[Path] = (Path("/etc/apt/sources.list"),)) -> str:
    """This machine's Debian mirror (a local mirror or proxy is kept), else Debian's CDN."""
    files = [*sources, *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            found = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if found and found.group(2).startswith(SUITE) and "security" not in found.group(1):
                return found.group(1).rstrip("/")
    return DEFAULT_MIRROR


def why_not(wanted: Sequence[Wanted]) -> str | None:
    """Why this machine cannot build `wanted` itself, or None when it can."""
    unknown = [w.arg for w in wanted if w.arg not in IMAGE_CONFIG]
    if unknown:
        return f"there is no stand-in recipe for {', '.join(unknown)}"
    if platform.system() != "Linux":
        return f"stand-ins are built on Linux only (this is {platform.system()})"
    if os.geteuid() != 0:
        return "building them needs root (debootstrap)"
    if not is_debian_like():
        return "building them needs Debian or Ubuntu (debootstrap and apt)"
    if shutil.which("debootstrap") is None and shutil.which("apt-get") is None:
        return "debootstrap is missing and apt-get is not there to install it"
    try:
        cpu()
    except StandInError as exc:
        return str(exc)
    if shutil.which("npm") is None and any(w.arg in NEEDS_NODE for w in wanted):
        return "npm is needed to fetch Node.js 20 for the Node bases: install Node.js 20 with npm"
    return None


def recipe_digest() -> str:
    """A hash of the code and settings that make the stand-ins: a change rebuilds them."""
    parts = [inspect.getsource(RootfsMaker), inspect.getsource(_recipes), inspect.getsource(trim)]
    parts += [inspect.getsource(settle), inspect.getsource(pack), inspect.getsource(load)]
    parts += [repr(IMAGE_CONFIG), repr(TRIM), repr(NODE_RUNTIME_DEBS), repr(HOST_FILES)]
    parts += [PASSWD, GROUP, NPM_PACKAGE, SUITE, CREATED, SHADOW_DAY, str(CLAMP_EPOCH)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def is_current(docker: DockerCli, tag: str) -> bool:
    """The engine has `tag` and it is not our own build of an older recipe."""
    found = docker.facts(tag)
    if found is None:
        return False
    label = found.labels.get(RECIPE_LABEL)
    return label is None or label == recipe_digest()  # someone else's image, or our recipe's


def plan(wanted: Sequence[Wanted], official: Sequence[str], why: str) -> str:
    """What `build` will do, why, and how long it takes: said before it starts."""
    names = ", ".join(w.tag for w in wanted)
    return (
        f"The official base images ({', '.join(official)}) cannot be pulled ({why}). "
        "This machine can make equivalents from "
        f"its distribution's packages ({mirror()}, debootstrap as root): building {names}. "
        f"This takes {FIRST_BUILD} the first time; they are kept on the engine and reused, and "
        "rebuilt only when their recipe changes."
    )


def build(docker: DockerCli, wanted: Sequence[Wanted]) -> float:
    """Build every `wanted` stand-in into the engine; returns the seconds it took."""
    runner = docker.runner
    started = time.monotonic()
    _ensure_debootstrap(runner)
    cache = cache_dir()
    (cache / "debs").mkdir(parents=True, exist_ok=True)
    digest = recipe_digest()
    with tempfile.TemporaryDirectory(prefix="todo-bases-", dir="/var/tmp") as tmp:
        maker = RootfsMaker(runner, Path(tmp), cache, mirror())
        recipes = _recipes(maker)
        # Debootstrap-based recipes first: they fill the .deb cache the node runtime unpacks.
        for item in sorted(wanted, key=lambda w: w.arg == "NODE_RUNTIME_IMAGE"):
            root = recipes[item.arg]()
            trim(root)
            settle(root)
            tarball = Path(tmp) / f"{item.arg}.tar"
            pack(runner, root, tarball)
            shutil.rmtree(root, ignore_errors=True)  # a root is ~100-300 MB: free it at once
            load(docker, tarball, item, digest)
            tarball.unlink()
    return time.monotonic() - started


def settle(root: Path) -> None:
    """Make what the install wrote for this machine and this day the same on every run."""
    shutil.rmtree(root / "var/cache/ldconfig", ignore_errors=True)  # inode numbers, times
    for rel in HOST_FILES:
        if (root / rel).exists():
            (root / rel).write_text("")
    for rel in ("etc/shadow", "etc/shadow-"):
        shadow = root / rel
        if shadow.exists():
            lines = [line.split(":") for line in shadow.read_text().splitlines()]
            fixed = [
                [*f[:2], SHADOW_DAY if f[2] else "", *f[3:]] if len(f) > 2 else f for f in lines
            ]
            shadow.write_text("".join(":".join(f) + "\n" for f in fixed))


def pack(runner: Runner, root: Path, tarball: Path) -> None:
    """The root as one layer: names sorted, times clamped, owners by number."""
    runner.run(
        ["tar", "--sort=name", f"--mtime=@{CLAMP_EPOCH}", "--clamp-mtime", "--numeric-owner",
         "--format=gnu", "-C", root, "-cf", tarball, "."],
        step=f"pack {tarball.stem}",
    )  # fmt: skip


def load(docker: DockerCli, layer: Path, item: Wanted, digest: str) -> None:
    """Load `layer` as the image `item.tag` with a config written here (so a fixed id)."""
    layer_id = file_digest(layer)
    env, cmd = IMAGE_CONFIG[item.arg]
    config = {
        "architecture": cpu()[0],
        "os": "linux",
        "created": CREATED,
        "config": {"Env": list(env), "Cmd": list(cmd), "Labels": {RECIPE_LABEL: digest}},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_id}"]},
        "history": [{"created": CREATED, "created_by": f"todo-deploy stand-in {item.tag}"}],
    }
    blob = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_name = f"{hashlib.sha256(blob).hexdigest()}.json"
    manifest = [
        {"Config": config_name, "RepoTags": [item.tag], "Layers": [f"{layer_id}/layer.tar"]}
    ]
    archive = layer.with_suffix(".image.tar")
    with tarfile.open(archive, "w") as out:
        out.add(layer, arcname=f"{layer_id}/layer.tar")
        for name, data in ((config_name, blob), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    try:
        docker.run("load", "--input", archive, step=f"load {item.tag}", timeout=600)
    finally:
        archive.unlink(missing_ok=True)


def file_digest(path: Path) -> str:
    """sha256 of a file, read a MiB at a time (layers are hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ensure_debootstrap(runner: Runner) -> None:
    from todo_deploy.base.debian import ensure_packages

    ensure_packages(runner, {"debootstrap": "debootstrap"})


@dataclass
class RootfsMaker:
    """Builds root file systems under `work` with debootstrap, dpkg-deb and npm."""

    runner: Runner
    work: Path
    cache: Path
    mirror: str = DEFAULT_MIRROR

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
        unpacked = self.work / "node-linux"
        if not unpacked.exists():
            self.npm_package(f"node-linux-{cpu()[2]}@20", unpacked)
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
        debs, arch = self.cache / "debs", cpu()[0]
        if not all(any(debs.glob(f"{p}_*_{arch}.deb")) for p in NODE_RUNTIME_DEBS):
            shutil.rmtree(self.debootstrap("fill-deb-cache"), ignore_errors=True)
        for package in NODE_RUNTIME_DEBS:
            deb = sorted(debs.glob(f"{package}_*_{arch}.deb"))[-1]
            self.runner.run(["dpkg-deb", "-x", deb, root], step=f"unpack {package}")
        for name, text in {"etc/passwd": PASSWD, "etc/group": GROUP}.items():
            (root / name).write_text(text)
        (root / "tmp").mkdir(mode=0o1777, exist_ok=True)
        (root / "tmp").chmod(0o1777)
        self.add_node(root, with_npm=False)
        return root


def trim(root: Path) -> None:
    """Drop what no container reads at run time; keep copyright files and apt's folders."""
    triplet = cpu()[1]
    for rel in TRIM:
        shutil.rmtree(root / rel.format(triplet=triplet), ignore_errors=True)
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
