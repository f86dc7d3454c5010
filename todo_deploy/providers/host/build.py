"""Build every host-cluster binary from Go modules (and pause from C), once per pinned version.

Nothing here downloads release binaries: the Go module proxy is the one source, so the cluster
can be built wherever `go` reaches a proxy. Built files land in `Layout.bin`; a later call finds
them and returns at once.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from todo_deploy.base.run import Runner
from todo_deploy.providers.host import patches
from todo_deploy.providers.host.layout import (
    COREDNS_VERSION,
    CRI_DOCKERD_VERSION,
    KUBE_NETWORK_POLICIES_VERSION,
    KUBERNETES_VERSION,
    TRAEFIK_VERSION,
    Layout,
)

KUBERNETES_COMMANDS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)
NETWORK_POLICY_BINARY = "kube-network-policies"
ALL_BINARIES = (
    *KUBERNETES_COMMANDS,
    "cri-dockerd",
    "coredns",
    "traefik",
    NETWORK_POLICY_BINARY,
    "pause",
)
TRAEFIK_CRDS = "traefik-crds.yaml"
TRAEFIK_CRDS_IN_MODULE = (
    "docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml"
)
BUILD_TIMEOUT = 3 * 3600
BUILD_RECORD = "build-seconds.json"
# Kubernetes' go.mod points its staging modules at local directories the module zip leaves out.
STAGING_REPLACE = re.compile(r"^\s*(k8s\.io/[\w.-]+) => \./staging/", re.MULTILINE)


class BuildError(RuntimeError):
    pass


def missing_binaries(layout: Layout) -> list[str]:
    return [name for name in ALL_BINARIES if not layout.binary(name).exists()]


def ensure_binaries(
    runner: Runner, layout: Layout, components: tuple[str, ...] | None = None
) -> dict[str, float]:
    """Build what is missing (of `components`, default all); returns seconds spent per
    component (empty when all cached)."""
    if shutil.which("go") is None:
        raise BuildError("no Go toolchain on PATH: install Go >= 1.24 (https://go.dev/dl/)")
    layout.bin.mkdir(parents=True, exist_ok=True)
    steps = {
        "kubernetes": (KUBERNETES_COMMANDS, _build_kubernetes),
        "cri-dockerd": (("cri-dockerd",), _build_cri_dockerd),
        "coredns": (("coredns",), _build_coredns),
        "traefik": (("traefik",), _build_traefik),
        NETWORK_POLICY_BINARY: ((NETWORK_POLICY_BINARY,), _build_network_policies),
        "pause": (("pause",), _build_pause),
    }
    spent: dict[str, float] = {}
    unknown = set(components or ()) - set(steps)
    if unknown:
        raise BuildError(f"no such component to build: {', '.join(sorted(unknown))}")
    for component, (outputs, build) in steps.items():
        if components is not None and component not in components:
            continue
        if all(layout.binary(name).exists() for name in outputs):
            continue
        runner.printer(f"host cluster: building {component} (cached afterwards) ...")
        started = time.monotonic()
        build(runner, layout)
        spent[component] = time.monotonic() - started
        runner.printer(f"host cluster: built {component} in {spent[component]:.0f} s")
        record_seconds(layout, component, spent[component])
    return spent


def build_seconds(layout: Layout) -> dict[str, float]:
    """Seconds each component took when it was built (kept next to the binaries)."""
    try:
        return json.loads((layout.bin / BUILD_RECORD).read_text())
    except (OSError, ValueError):
        return {}


def record_seconds(layout: Layout, component: str, seconds: float) -> None:
    """Keep how long `component` took to build, next to the binaries (`build_seconds`)."""
    record = {**build_seconds(layout), component: round(seconds, 1)}
    (layout.bin / BUILD_RECORD).write_text(json.dumps(record, indent=2))


def _go(runner: Runner, args: list[str], *, cwd: Path, step: str) -> None:
    # nice: a build must not starve the other work on a small machine.
    argv = ["nice", "-n", "10", "go", "-C", str(cwd), *args]
    # Static binaries: CoreDNS runs alone in a FROM-scratch image.
    runner.run(argv, step=step, env={"CGO_ENABLED": "0"}, timeout=BUILD_TIMEOUT)


def module_dir(runner: Runner, module: str, version: str) -> Path:
    """Download `module@version` into the module cache and return its (read-only) directory."""
    result = runner.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        step=f"download {module}@{version}",
        timeout=1800,
        mutating=False,
    )
    info = json.loads(result.stdout)
    if "Dir" not in info:
        raise BuildError(f"go mod download {module}@{version}: {info.get('Error', info)}")
    return Path(info["Dir"])


def _writable_copy(source: Path, target: Path) -> Path:
    """Modules with replace directives only build as the main module: copy it out of the cache."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    return target


def kubernetes_go_mod(kubernetes_go_mod_text: str) -> str:
    """A go.mod requiring k8s.io/kubernetes with every staging module at its published v0.Y.Z."""
    staging_version = "v0." + KUBERNETES_VERSION.removeprefix("v1.")
    replaces = "\n".join(
        f"\t{name} => {name} {staging_version}"
        for name in STAGING_REPLACE.findall(kubernetes_go_mod_text)
    )
    go_line = re.search(r"^go (\S+)$", kubernetes_go_mod_text, re.MULTILINE)
    go_version = go_line.group(1) if go_line else "1.24.0"
    return (
        f"module todo-host-build\n\ngo {go_version}\n\n"
        f"require k8s.io/kubernetes {KUBERNETES_VERSION}\n\nreplace (\n{replaces}\n)\n"
    )


def _version_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.removeprefix("v").split(".")[:2]
    pairs = {
        "k8s.io/component-base/version.gitVersion": KUBERNETES_VERSION,
        "k8s.io/component-base/version.gitMajor": major,
        "k8s.io/component-base/version.gitMinor": minor,
        "k8s.io/component-base/version.gitTreeState": "clean",
        "k8s.io/component-base/version.buildDate": "1970-01-01T00:00:00Z",
        "k8s.io/client-go/pkg/version.gitVersion": KUBERNETES_VERSION,
    }
    return "-s -w " + " ".join(f"-X {key}={value}" for key, value in pairs.items())


def _build_kubernetes(runner: Runner, layout: Layout) -> None:
    # One `go build` for all six shares the compile of their common packages.
    build_kubernetes_commands(runner, layout, KUBERNETES_COMMANDS)


def build_kubernetes_commands(runner: Runner, layout: Layout, commands: tuple[str, ...]) -> None:
    """The named commands of k8s.io/kubernetes (cmd/NAME), built into the layout's bin/."""
    source = module_dir(runner, "k8s.io/kubernetes", KUBERNETES_VERSION)
    work = layout.cache / f"src-kubernetes-{KUBERNETES_VERSION}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(kubernetes_go_mod((source / "go.mod").read_text()))
    packages = [f"k8s.io/kubernetes/cmd/{name}" for name in commands]
    args = ["build", "-mod=mod", "-trimpath", "-ldflags", _version_ldflags()]
    step = f"build {' '.join(commands)}"
    _go(runner, [*args, "-o", f"{layout.bin}/", *packages], cwd=work, step=step)


def _build_cri_dockerd(runner: Runner, layout: Layout) -> None:
    source = module_dir(runner, "github.com/Mirantis/cri-dockerd", CRI_DOCKERD_VERSION)
    work = _writable_copy(source, layout.cache / f"src-cri-dockerd-{CRI_DOCKERD_VERSION}")
    patches.apply(patches.CRI_DOCKERD, work)
    ldflags = f"-s -w -X github.com/Mirantis/cri-dockerd/cmd/version.Version={CRI_DOCKERD_VERSION}"
    args = ["build", "-mod=mod", "-trimpath", "-ldflags", ldflags]
    out = layout.binary("cri-dockerd")
    _go(runner, [*args, "-o", str(out), "."], cwd=work, step="build cri-dockerd")


def _build_coredns(runner: Runner, layout: Layout) -> None:
    source = module_dir(runner, "github.com/coredns/coredns", COREDNS_VERSION)
    work = _writable_copy(source, layout.cache / f"src-coredns-{COREDNS_VERSION}")
    args = ["build", "-mod=mod", "-trimpath", "-ldflags", "-s -w"]
    out = layout.binary("coredns")
    _go(runner, [*args, "-o", str(out), "."], cwd=work, step="build coredns")


def _build_traefik(runner: Runner, layout: Layout) -> None:
    source = module_dir(runner, "github.com/traefik/traefik/v3", TRAEFIK_VERSION)
    work = _writable_copy(source, layout.cache / f"src-traefik-{TRAEFIK_VERSION}")
    ldflags = f"-s -w -X github.com/traefik/traefik/v3/pkg/version.Version={TRAEFIK_VERSION}"
    args = ["build", "-mod=mod", "-trimpath", "-ldflags", ldflags]
    out = layout.binary("traefik")
    _go(runner, [*args, "-o", str(out), "./cmd/traefik"], cwd=work, step="build traefik")


def traefik_crds(runner: Runner, layout: Layout) -> Path:
    """Traefik's CRDs (Middleware among them), from the same module as its binary; kept beside
    the binaries, so a cache built before they were needed gets them without a rebuild."""
    kept = layout.bin / TRAEFIK_CRDS
    if kept.exists():
        return kept
    source = layout.cache / f"src-traefik-{TRAEFIK_VERSION}"
    if not (source / TRAEFIK_CRDS_IN_MODULE).exists():
        source = module_dir(runner, "github.com/traefik/traefik/v3", TRAEFIK_VERSION)
    shutil.copyfile(source / TRAEFIK_CRDS_IN_MODULE, kept)
    return kept


def _build_network_policies(runner: Runner, layout: Layout) -> None:
    module = "sigs.k8s.io/kube-network-policies"
    source = module_dir(runner, module, KUBE_NETWORK_POLICIES_VERSION)
    work = _writable_copy(source, layout.cache / f"src-{NETWORK_POLICY_BINARY}")
    patches.apply(patches.KUBE_NETWORK_POLICIES, work)
    args = ["build", "-mod=mod", "-trimpath", "-ldflags", "-s -w"]
    out = layout.binary(NETWORK_POLICY_BINARY)
    _go(runner, [*args, "-o", str(out), "./cmd"], cwd=work, step="build kube-network-policies")


def _build_pause(runner: Runner, layout: Layout) -> None:
    source = module_dir(runner, "k8s.io/kubernetes", KUBERNETES_VERSION)
    pause_c = source / "build" / "pause" / "linux" / "pause.c"
    out = layout.binary("pause")
    runner.run(
        ["gcc", "-Os", "-static", "-DVERSION=v3.10-todo-host", "-o", str(out), str(pause_c)],
        step="compile pause",
    )
