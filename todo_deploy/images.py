"""Our container images: what each is built from, content tags, builds and sizes.

A tag is a hash of everything that goes into the image (the Dockerfile, the files its ignore
file keeps, the base image ids), never `latest`: the same sources give the same tag, so a build
is skipped when the engine already has it, and a code change gives a new tag that makes
Kubernetes roll the pods.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from docker.utils.build import exclude_paths

from todo_deploy import catalogue
from todo_deploy.baseimages import ensure_base_images
from todo_deploy.engine import DockerCli, buildkit_cli
from todo_deploy.run import Runner

REPO_ROOT = Path(__file__).resolve().parent.parent
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TAG_LENGTH = 12
BUILD_TIMEOUT = 1800.0
MB = 1_000_000


@dataclass(frozen=True)
class ImageSpec:
    name: str
    context: str  # relative to the repository root
    dockerfile: str  # relative to the repository root
    base_args: tuple[str, ...]  # Dockerfile ARGs naming base images
    runtime_base: str  # the ARG of the final stage's base: "added" size is measured above it

    @property
    def image(self) -> str:
        """Its repository: the chart's for an app component, else `<namePrefix>-<name>`."""
        chart = catalogue.default()
        found = chart.components.get(self.name)
        return found.repository if found else chart.object_name(self.name)

    def ignore_file(self, root: Path = REPO_ROOT) -> Path:
        """BuildKit reads `<Dockerfile>.dockerignore` first, then `<context>/.dockerignore`."""
        specific = root / f"{self.dockerfile}.dockerignore"
        return specific if specific.exists() else root / self.context / ".dockerignore"


SPECS = {
    spec.name: spec
    for spec in (
        ImageSpec(
            "frontend",
            "frontend",
            "frontend/Dockerfile",
            ("NODE_IMAGE", "NODE_RUNTIME_IMAGE"),
            "NODE_RUNTIME_IMAGE",
        ),
        ImageSpec("backend", ".", "backend/Dockerfile", ("PYTHON_IMAGE",), "PYTHON_IMAGE"),
        ImageSpec("mcp", ".", "mcp/Dockerfile", ("PYTHON_IMAGE",), "PYTHON_IMAGE"),
        ImageSpec(
            "postgres",
            "docker/postgres",
            "docker/postgres/Dockerfile",
            ("DEBIAN_IMAGE",),
            "DEBIAN_IMAGE",
        ),
    )
}


@dataclass(frozen=True)
class BuiltImage:
    name: str
    ref: str
    tag: str
    seconds: float  # build time; 0 when reused
    size_bytes: int
    reused: bool
    added_bytes: int  # size of the layers we add on top of the runtime base image


def context_files(spec: ImageSpec, root: Path = REPO_ROOT) -> list[Path]:
    """The files `docker build` sends for `spec`, after its ignore file (sorted, relative)."""
    context = root / spec.context
    ignore = spec.ignore_file(root)
    patterns = [
        line.strip()
        for line in (ignore.read_text().splitlines() if ignore.exists() else [])
        if line.strip() and not line.lstrip().startswith("#")
    ]
    dockerfile = (root / spec.dockerfile).relative_to(context).as_posix()
    kept = exclude_paths(str(context), patterns, dockerfile=dockerfile)
    return sorted(Path(p) for p in kept if (context / p).is_file() or (context / p).is_symlink())


def content_tag(spec: ImageSpec, base_ids: Mapping[str, str], root: Path = REPO_ROOT) -> str:
    """Hash of the Dockerfile, the kept context files and the base image ids."""
    digest = hashlib.sha256()
    digest.update((root / spec.dockerfile).read_bytes())
    context = root / spec.context
    for rel in context_files(spec, root):
        path = context / rel
        digest.update(f"\0{rel.as_posix()}\0{path.stat().st_mode & 0o111:o}\0".encode())
        digest.update(path.read_bytes())
    for arg in spec.base_args:
        digest.update(f"\0{arg}={base_ids[arg]}".encode())
    return digest.hexdigest()[:TAG_LENGTH]


def docker_cli(runner: Runner, docker_env: Mapping[str, str] | None) -> DockerCli:
    return DockerCli(runner, buildkit_cli(runner), dict(docker_env or {}))


def build_images(
    names: Iterable[str],
    *,
    docker_env: Mapping[str, str] | None,
    runner: Runner,
    parallel: bool = True,
) -> dict[str, BuiltImage]:
    """Build the named images into the engine `docker_env` points at; reuse existing tags."""
    docker = docker_cli(runner, docker_env)
    specs = [SPECS[name] for name in names]
    # Only the bases these images use: each check is a docker call, and `invoke watch` pays
    # them on every save.
    bases = ensure_base_images(docker, only={arg for spec in specs for arg in spec.base_args})
    base_ids = {arg: docker.image_id(ref) or ref for arg, ref in bases.items()}

    def one(spec: ImageSpec) -> BuiltImage:
        return _build_one(docker, spec, bases, base_ids)

    if parallel and len(specs) > 1:
        # Two at a time: BuildKit parallelises inside a build too, and the CPU is shared.
        with ThreadPoolExecutor(max_workers=2) as pool:
            built = list(pool.map(one, specs))
    else:
        built = [one(spec) for spec in specs]
    return {image.name: image for image in built}


def _build_one(
    docker: DockerCli, spec: ImageSpec, bases: Mapping[str, str], base_ids: Mapping[str, str]
) -> BuiltImage:
    tag = content_tag(spec, base_ids)
    ref = f"{spec.image}:{tag}"
    reused = docker.image_id(ref) is not None
    seconds = 0.0
    if not reused:
        build_args = [f"--build-arg={arg}={bases[arg]}" for arg in spec.base_args]
        secret = [f"--secret=id=ca,src={CA_BUNDLE}"] if CA_BUNDLE.exists() else []
        result = docker.runner.run(
            [docker.cli, "build", "--file", REPO_ROOT / spec.dockerfile, "--tag", ref,
             *build_args, *secret, REPO_ROOT / spec.context],
            env={**docker.env, "DOCKER_BUILDKIT": "1"},
            step=f"build {ref}", timeout=BUILD_TIMEOUT,
        )  # fmt: skip
        seconds = result.seconds
    size = docker.image_size(ref)
    base_size = docker.image_size(bases[spec.runtime_base])
    return BuiltImage(spec.name, ref, tag, seconds, size, reused, max(size - base_size, 0))


def report_rows(
    built: Mapping[str, BuiltImage], cold_starts: Mapping[str, float] | None = None
) -> list[dict[str, object]]:
    """One row per image: sizes in MB (10^6 bytes, as `docker images` prints), build time and,
    when measured, the median cold start."""
    rows: list[dict[str, object]] = []
    for name, image in built.items():
        row: dict[str, object] = {
            "image": image.ref,
            "size_mb": round(image.size_bytes / MB, 1),
            "added_mb": round(image.added_bytes / MB, 1),
            "build_s": round(image.seconds, 1),
            "reused": image.reused,
        }
        if cold_starts is not None:
            seconds = cold_starts.get(name)
            row["cold_start_s"] = "-" if seconds is None else round(seconds, 2)
        rows.append(row)
    return rows


def format_report(rows: list[dict[str, object]]) -> str:
    headers = list(rows[0]) if rows else []
    table = [headers] + [[str(row[h]) for h in headers] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in table
    )
