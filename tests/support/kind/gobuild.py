"""Programs built from the Go module proxy for CI, each cached by the hash of its recipe.

`go install X@version` is refused for modules whose version list the proxy does not serve, so
each program is built from a scratch module: `go get X@version` (exact), X's own `replace`
lines copied in (local-path ones dropped: the module zip has no such folders), then `go build`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.support.kind import paths
from todo_deploy.base.run import Runner

BUILD_TIMEOUT = 3600
# `old => new vX` (a published module), never `old => ./dir` or `../dir`.
VERSIONED_REPLACE = re.compile(r"^\s*(?:replace\s+)?(\S+(?: v\S+)?) => ([^.\s/]\S* v\S+)\s*$")


@dataclass(frozen=True)
class GoProgram:
    name: str
    module: str
    version: str
    package: str  # the main package to build (the scratch module itself when `main` is set)
    main: str = ""  # main.go of the scratch module, for modules that ship no command we can use
    ldflags: str = "-s -w"

    @property
    def digest(self) -> str:
        recipe = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(recipe).hexdigest()[:12]

    @property
    def output(self) -> Path:
        return paths.cache_dir() / "go" / f"{self.name}-{self.version}-{self.digest}" / self.name


# etcd ships its server as a library plus a main in a module path the proxy does not build
# on its own; three lines call the same entry point.
ETCD_MAIN = """package main

import (
\t"os"

\t"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
"""

KIND = GoProgram("kind", "sigs.k8s.io/kind", "v0.30.0", "sigs.k8s.io/kind")
REGISTRY = GoProgram(
    "registry",
    "github.com/distribution/distribution/v3",
    "v3.0.0",
    "github.com/distribution/distribution/v3/cmd/registry",
    ldflags="-s -w -X github.com/distribution/distribution/v3/version.version=v3.0.0",
)
ETCD = GoProgram("etcd", "go.etcd.io/etcd/server/v3", "v3.6.5", ".", main=ETCD_MAIN)
# kind's nodes ship crictl (kind load and users' debugging call it); Debian has none.
CRICTL = GoProgram(
    "crictl",
    "sigs.k8s.io/cri-tools",
    "v1.34.0",
    "sigs.k8s.io/cri-tools/cmd/crictl",
    ldflags="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=v1.34.0",
)
# kind's default StorageClass `standard` (the version kind v0.30.0's images/ pins).
LOCAL_PATH_PROVISIONER = GoProgram(
    "local-path-provisioner",
    "github.com/rancher/local-path-provisioner",
    "v0.0.30",
    "github.com/rancher/local-path-provisioner",
)


class GoBuildError(RuntimeError):
    pass


@paths.locked
def ensure_program(runner: Runner, program: GoProgram) -> Path:
    """Return the built program, building it first (and printing its cold cost) if needed."""
    if program.output.exists():
        return program.output
    if shutil.which("go") is None:
        raise GoBuildError("no Go toolchain on PATH: install Go >= 1.24 (https://go.dev/dl/)")
    runner.printer(f"kind support: building {program.name} {program.version} from Go modules ...")
    started = time.monotonic()
    _build(runner, program)
    seconds = time.monotonic() - started
    paths.record_cold(program.name, seconds)
    runner.printer(f"kind support: built {program.name} in {seconds:.0f} s (cold)")
    return program.output


def _go(runner: Runner, args: list[str], *, cwd: Path, step: str) -> str:
    # nice: builds share two cores with everything else on a CI machine; static binaries run
    # in FROM-scratch images and on any host.
    argv = ["nice", "-n", "10", "go", "-C", str(cwd), *args]
    return runner.run(argv, step=step, env={"CGO_ENABLED": "0"}, timeout=BUILD_TIMEOUT).stdout


def versioned_replaces(go_mod_text: str) -> list[str]:
    """The `replace` lines of a go.mod that name published modules (local paths dropped)."""
    lines, in_block = [], False
    for raw in go_mod_text.splitlines():
        line = raw.split("//")[0].strip()
        if line.startswith("replace ("):
            in_block = True
            continue
        if in_block and line == ")":
            in_block = False
            continue
        if (in_block or line.startswith("replace ")) and VERSIONED_REPLACE.match(line):
            lines.append(line.removeprefix("replace ").strip())
    return lines


def _build(runner: Runner, program: GoProgram) -> None:
    out = program.output
    work = out.parent / "src"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / "go.mod").write_text(f"module todo-ci-build/{program.name}\n\ngo 1.24\n")
    if program.main:
        (work / "main.go").write_text(program.main)
    spec = f"{program.module}@{program.version}"
    _go(runner, ["get", spec], cwd=work, step=f"go get {spec}")
    info = json.loads(
        _go(runner, ["mod", "download", "-json", spec], cwd=work, step=f"download {spec}")
    )
    replaces = versioned_replaces(Path(info["GoMod"]).read_text())
    if replaces:
        with (work / "go.mod").open("a") as go_mod:
            go_mod.write("\nreplace (\n" + "".join(f"\t{r}\n" for r in replaces) + ")\n")
    args = ["build", "-mod=mod", "-trimpath", "-ldflags", program.ldflags, "-o", str(out)]
    _go(runner, [*args, program.package], cwd=work, step=f"build {program.name}")
    if not out.exists():
        raise GoBuildError(f"go build {program.package} wrote no {out}")
    shutil.rmtree(work)


def install(program_path: Path, bin_dir: Path) -> Path:
    """Copy a built program into `bin_dir` (created world-readable) and return its path there."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for folder in [bin_dir, *bin_dir.parents]:
        if folder == Path("/") or folder.stat().st_mode & 0o005 == 0o005:
            break
        folder.chmod(folder.stat().st_mode | 0o755)
    target = bin_dir / program_path.name
    staged = target.with_suffix(".new")
    shutil.copy2(program_path, staged)
    staged.chmod(0o755)
    staged.replace(target)
    return target
