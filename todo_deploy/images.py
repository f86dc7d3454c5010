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
from dataclasses import dataclass, field
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
    return Builder(docker_cli(runner, docker_env)).build(names, parallel=parallel)


@dataclass
class Builder:
    """Builds our images into one engine, asking it about each base image once.

    A deploy makes one for its run; `invoke watch` keeps one (through BuildSession) so a save
    costs the build and one inspect, not a round of base-image checks. A base pulled anew
    during a watch is seen at the next `invoke watch`.
    """

    docker: DockerCli
    bases: dict[str, str] = field(default_factory=dict)  # ARG: the base ref builds use
    base_ids: dict[str, str] = field(default_factory=dict)
    base_sizes: dict[str, int] = field(default_factory=dict)

    def build(self, names: Iterable[str], *, parallel: bool = True) -> dict[str, BuiltImage]:
        specs = [SPECS[name] for name in names]
        self._resolve({arg for spec in specs for arg in spec.base_args})
        if parallel and len(specs) > 1:
            # Two at a time: BuildKit parallelises inside a build too, and the CPU is shared.
            with ThreadPoolExecutor(max_workers=2) as pool:
                built = list(pool.map(self._build_one, specs))
        else:
            built = [self._build_one(spec) for spec in specs]
        return {image.name: image for image in built}

    def _resolve(self, args: set[str]) -> None:
        """Only the bases these images use, and only once: each check is a docker call."""
        missing = args - self.bases.keys()
        if not missing:
            return
        found = ensure_base_images(self.docker, only=missing)
        for arg, ref in found.items():
            image_id, size = self._id_and_size(ref)
            self.bases[arg], self.base_ids[arg], self.base_sizes[arg] = ref, image_id or ref, size

    def _id_and_size(self, ref: str) -> tuple[str | None, int]:
        found = self.docker.inspect(ref, "{{.Id}} {{.Size}}")
        if not found:
            return None, 0
        image_id, size = found.split()
        return image_id, int(size)

    def _build_one(self, spec: ImageSpec) -> BuiltImage:
        tag = content_tag(spec, self.base_ids)
        ref = f"{spec.image}:{tag}"
        image_id, size = self._id_and_size(ref)
        seconds = 0.0
        if image_id is None:
            build_args = [f"--build-arg={arg}={self.bases[arg]}" for arg in spec.base_args]
            secret = [f"--secret=id=ca,src={CA_BUNDLE}"] if CA_BUNDLE.exists() else []
            result = self.docker.runner.run(
                [self.docker.cli, "build", "--file", REPO_ROOT / spec.dockerfile, "--tag", ref,
                 *build_args, *secret, REPO_ROOT / spec.context],
                env={**self.docker.env, "DOCKER_BUILDKIT": "1"},
                step=f"build {ref}", timeout=BUILD_TIMEOUT,
            )  # fmt: skip
            seconds = result.seconds
            size = self._id_and_size(ref)[1]
        added = max(size - self.base_sizes[spec.runtime_base], 0)
        return BuiltImage(spec.name, ref, tag, seconds, size, image_id is not None, added)


class BuildSession:
    """`build_images` for a long run (`invoke watch`): one Builder per engine, kept."""

    def __init__(self) -> None:
        self._builders: dict[tuple[tuple[str, str], ...], Builder] = {}

    def __call__(
        self,
        names: Iterable[str],
        *,
        docker_env: Mapping[str, str] | None,
        runner: Runner,
        parallel: bool = True,
    ) -> dict[str, BuiltImage]:
        key = tuple(sorted((docker_env or {}).items()))
        if key not in self._builders:
            self._builders[key] = Builder(docker_cli(runner, docker_env))
        return self._builders[key].build(names, parallel=parallel)


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
