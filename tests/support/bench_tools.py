"""The anchor's tools for `nox -s bench`, built once from the Go module proxy and cached.

Skaffold v2.16.1 cannot drive helm 4 (it calls `helm version --client`), so helm v3 is built
too; Skaffold's docker builder passes `--load`, which needs the buildx CLI plugin. Each module
has replace directives, so it is built as the main module from a writable copy of its source
(`go install pkg@version` refuses it), the way the host provider builds its components.
Measured here: about 12 minutes for the three, cold, on a busy 2-core machine.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from todo_deploy.base.paths import cache_root
from todo_deploy.base.run import Runner
from todo_deploy.providers.host.build import module_dir

SKAFFOLD = ("github.com/GoogleContainerTools/skaffold/v2", "v2.16.1", "./cmd/skaffold")
HELM3 = ("helm.sh/helm/v3", "v3.19.0", "./cmd/helm")
BUILDX = ("github.com/docker/buildx", "v0.19.3", "./cmd/buildx")
BUILD_TIMEOUT = 3600


@dataclass(frozen=True)
class BenchTools:
    skaffold: Path
    helm3: Path
    docker_config: Path  # a DOCKER_CONFIG whose cli-plugins/ holds docker-buildx

    def env(self) -> dict[str, str]:
        """For the anchor's runs: helm 3 first on PATH, the buildx plugin visible to docker."""
        import os

        path = f"{self.helm3.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return {"PATH": path, "DOCKER_CONFIG": str(self.docker_config)}


def _build(runner: Runner, spec: tuple[str, str, str], out: Path, work_root: Path) -> Path:
    if out.exists():
        return out
    module, version, package = spec
    source = module_dir(runner, module, version)
    work = work_root / f"src-{module.replace('/', '_')}-{version}"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(source, work)
    for path in [work, *work.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = ["nice", "-n", "10", "go", "-C", str(work), "build", "-mod=mod", "-trimpath",
            "-ldflags", "-s -w", "-o", str(out), package]  # fmt: skip
    runner.run(
        argv, step=f"build {module}@{version}", env={"CGO_ENABLED": "0"}, timeout=BUILD_TIMEOUT
    )
    shutil.rmtree(work)
    return out


def ensure_tools(runner: Runner, root: Path | None = None) -> BenchTools:
    """Build (first time) or reuse the cached Skaffold, helm 3 and buildx plugin."""
    root = root or cache_root() / "bench"
    skaffold = _build(runner, SKAFFOLD, root / f"skaffold-{SKAFFOLD[1]}" / "skaffold", root)
    helm3 = _build(runner, HELM3, root / f"helm-{HELM3[1]}" / "helm", root)
    docker_config = root / f"docker-config-buildx-{BUILDX[1]}"
    _build(runner, BUILDX, docker_config / "cli-plugins" / "docker-buildx", root)
    return BenchTools(skaffold, helm3, docker_config)
