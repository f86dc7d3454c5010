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

from todo_deploy.base import catalogue
from todo_deploy.base.engine import DockerCli, buildkit_cli
from todo_deploy.base.paths import REPO_ROOT
from todo_deploy.base.run import Runner
from todo_deploy.steps.baseimages import ensure_base_images, present, selected
from todo_deploy.steps.baseimages import plan_lines as ensure_base_plan

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TAG_LENGTH = 12
SOURCE_LABEL = "org.todo-deploy.source"  # the source digest an image was built from
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


def image_specs(chart: catalogue.Catalogue) -> dict[str, ImageSpec]:
    """One spec per component of the chart's manifest (components.yaml), named for it."""
    return {
        c.name: ImageSpec(
            c.name, c.build.context, c.build.dockerfile, c.build.base_args, c.build.runtime_base
        )
        for c in chart.components.values()
    }


SPECS = image_specs(catalogue.default())


@dataclass(frozen=True)
class BuiltImage:
    name: str
    ref: str
    tag: str
    seconds: float  # build time; 0 when reused
    size_bytes: int
    reused: bool
    added_bytes: int  # size of the layers we add on top of the runtime base image
    base_absent: bool = False  # reused by its sources while its base is not on the engine


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


def source_digest(spec: ImageSpec, root: Path = REPO_ROOT) -> str:
    """Hash of the Dockerfile and the kept context files: what the image is built from."""
    digest = hashlib.sha256()
    digest.update((root / spec.dockerfile).read_bytes())
    context = root / spec.context
    for rel in context_files(spec, root):
        path = context / rel
        digest.update(f"\0{rel.as_posix()}\0{path.stat().st_mode & 0o111:o}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def content_tag(spec: ImageSpec, base_ids: Mapping[str, str], root: Path = REPO_ROOT) -> str:
    """Hash of the sources (`source_digest`) and the base image ids."""
    return _tag(source_digest(spec, root), spec, base_ids)


def _tag(source: str, spec: ImageSpec, base_ids: Mapping[str, str]) -> str:
    digest = hashlib.sha256(source.encode())
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
    repositories: Mapping[str, str] | None = None,
) -> dict[str, BuiltImage]:
    """Build the named images into the engine `docker_env` points at; reuse existing tags.

    `repositories` names each image's repository (the release's values: a user's values file
    may rename one); by default the chart's own."""
    builder = Builder(docker_cli(runner, docker_env), repositories=dict(repositories or {}))
    return builder.build(names, parallel=parallel)


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
    absent: set[str] = field(default_factory=set)  # ARGs whose base the engine lacks
    repositories: dict[str, str] = field(default_factory=dict)  # name -> repository to tag

    def repository(self, spec: ImageSpec) -> str:
        return self.repositories.get(spec.name) or spec.image

    def build(self, names: Iterable[str], *, parallel: bool = True) -> dict[str, BuiltImage]:
        specs = [SPECS[name] for name in names]
        sources = {spec.name: source_digest(spec) for spec in specs}
        self._look_up({arg for spec in specs for arg in spec.base_args})
        # An image whose base is gone (a pruned engine) but whose sources are unchanged is
        # reused as it is: a deploy that builds nothing needs no base image at all.
        self.docker.look_up(self._content_ref(spec, sources[spec.name]) for spec in specs
                            if not self._lacks(spec))  # fmt: skip
        lacking = [spec for spec in specs if self._lacks(spec)]
        found = {spec.name: self._built_from(spec, sources[spec.name]) for spec in lacking}
        reused = {name: image for name, image in found.items() if image}
        to_build = [spec for spec in specs if spec.name not in reused]
        self._resolve({arg for spec in to_build for arg in spec.base_args})
        if parallel and len(to_build) > 1:
            # Two at a time: BuildKit parallelises inside a build too, and the CPU is shared.
            with ThreadPoolExecutor(max_workers=2) as pool:
                built = list(pool.map(lambda s: self._build_one(s, sources[s.name]), to_build))
        else:
            built = [self._build_one(spec, sources[spec.name]) for spec in to_build]
        every = {**reused, **{image.name: image for image in built}}
        return {spec.name: every[spec.name] for spec in specs}

    def plan(self, names: Iterable[str]) -> list[str]:
        """What `build` would do (a dry run): reuse or build each image, and from which bases."""
        specs = [SPECS[name] for name in names]
        self._look_up({arg for spec in specs for arg in spec.base_args})
        lines: list[str] = []
        needed: set[str] = set()
        for spec in specs:
            image = self._reusable(spec, source_digest(spec))
            if image:
                lines.append(f"{spec.name}: reuse {image.ref}")
            else:
                bases = ", ".join(self.bases.get(arg, arg) for arg in spec.base_args)
                lines.append(f"{spec.name}: build {self.repository(spec)}:CONTENT-TAG from {bases}")
                needed.update(arg for arg in spec.base_args if arg not in self.bases)
        return lines + (ensure_base_plan(self.docker, needed) if needed else [])

    def _reusable(self, spec: ImageSpec, source: str) -> BuiltImage | None:
        """The image to reuse: by content tag when its bases are here, else by its sources."""
        if self._lacks(spec):
            return self._built_from(spec, source)
        return self._existing(spec, source)

    def _look_up(self, args: set[str]) -> None:
        """Bases already on the engine, each asked about once (nothing pulled or built)."""
        bases = selected(args - self.bases.keys() - self.absent)
        self.docker.look_up(ref for base in bases for ref in (base.official, base.stand_in))
        for base in bases:
            ref = present(self.docker, base)
            if ref is None:
                self.absent.add(base.arg)
            else:
                self._keep(base.arg, ref)

    def _lacks(self, spec: ImageSpec) -> bool:
        return any(arg not in self.bases for arg in spec.base_args)

    def _resolve(self, args: set[str]) -> None:
        """Pull, or build stand-ins of, the bases still missing (each a docker call or more)."""
        missing = args - self.bases.keys()
        if not missing:
            return
        chosen = ensure_base_images(self.docker, only=missing)
        self.docker.forget()  # stand-ins may have been built and loaded meanwhile
        for arg, ref in chosen.items():
            self.absent.discard(arg)
            self._keep(arg, ref)

    def _keep(self, arg: str, ref: str) -> None:
        image_id, size = self._id_and_size(ref)
        self.bases[arg], self.base_ids[arg], self.base_sizes[arg] = ref, image_id or ref, size

    def _id_and_size(self, ref: str) -> tuple[str | None, int]:
        found = self.docker.facts(ref)
        return (found.id, found.size) if found else (None, 0)

    def _content_ref(self, spec: ImageSpec, source: str) -> str:
        return f"{self.repository(spec)}:{_tag(source, spec, self.base_ids)}"

    def _existing(self, spec: ImageSpec, source: str) -> BuiltImage | None:
        ref = self._content_ref(spec, source)
        image_id, size = self._id_and_size(ref)
        if image_id is None:
            return None
        return self._reused(spec, ref, size, self.base_sizes[spec.runtime_base])

    def _built_from(self, spec: ImageSpec, source: str) -> BuiltImage | None:
        """An image of ours built from exactly these sources, whatever its bases were."""
        listing = self.docker.run(
            "image", "ls", f"--filter=label={SOURCE_LABEL}={source}",
            f"--filter=reference={self.repository(spec)}", "--format", "{{.Repository}}:{{.Tag}}",
            step=f"find {self.repository(spec)} built from these sources", check=False,
            mutating=False,
        )  # fmt: skip
        refs = [ref for ref in listing.stdout.split() if not ref.endswith(":<none>")]
        if not refs:
            return None
        size = self._id_and_size(refs[0])[1]
        return self._reused(spec, refs[0], size, 0, base_absent=True)

    @staticmethod
    def _reused(
        spec: ImageSpec, ref: str, size: int, base_size: int, *, base_absent: bool = False
    ) -> BuiltImage:
        tag, added = ref.rsplit(":", 1)[1], max(size - base_size, 0)
        return BuiltImage(spec.name, ref, tag, 0.0, size, True, added, base_absent)

    def _build_one(self, spec: ImageSpec, source: str) -> BuiltImage:
        found = self._existing(spec, source)
        if found:
            return found
        ref = self._content_ref(spec, source)
        build_args = [f"--build-arg={arg}={self.bases[arg]}" for arg in spec.base_args]
        secret = [f"--secret=id=ca,src={CA_BUNDLE}"] if CA_BUNDLE.exists() else []
        result = self.docker.runner.run(
            [self.docker.cli, "build", "--file", REPO_ROOT / spec.dockerfile, "--tag", ref,
             f"--label={SOURCE_LABEL}={source}", *build_args, *secret, REPO_ROOT / spec.context],
            env={**self.docker.env, "DOCKER_BUILDKIT": "1"},
            step=f"build {ref}", timeout=BUILD_TIMEOUT,
        )  # fmt: skip
        self.docker.forget()  # the build made `ref`
        size = self._id_and_size(ref)[1]
        added = max(size - self.base_sizes[spec.runtime_base], 0)
        return BuiltImage(spec.name, ref, ref.rsplit(":", 1)[1], result.seconds, size, False, added)


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
        repositories: Mapping[str, str] | None = None,
    ) -> dict[str, BuiltImage]:
        key = tuple(sorted((docker_env or {}).items()))
        if key not in self._builders:
            self._builders[key] = Builder(docker_cli(runner, docker_env))
        self._builders[key].repositories = dict(repositories or {})
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
