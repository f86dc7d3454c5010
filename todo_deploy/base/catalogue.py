"""The app's components as the chart defines them: names, ports, health paths, images, builds.

The chart is the one source: its component manifest, helm/todo-app/components.yaml (which its
templates read too: what each component is, its port, its image's build, how `invoke dev` runs
it), and its `namePrefix` (values.yaml, overridden by the values files given). Nothing else in
the suite writes a component's object name, port or Dockerfile.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from todo_deploy.base.paths import REPO_ROOT

CHART = REPO_ROOT / "helm" / "todo-app"
MANIFEST = "components.yaml"
# The manifest's kinds, as the workloads the chart renders for them.
WORKLOADS = {"service": "deployment", "database": "statefulset"}
# libyaml's parser when PyYAML has it: the manifest is read at every start of a deploy task.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class DatabaseLogin:
    """A service's own PostgreSQL role and the Secret keys of its URL and password."""

    role: str
    url_key: str
    password_key: str


@dataclass(frozen=True)
class Build:
    """How its image is built: paths relative to the repository root."""

    context: str
    dockerfile: str
    base_args: tuple[str, ...]  # Dockerfile ARGs naming base images
    runtime_base: str  # the ARG of the final stage's base: "added" size is measured above it


@dataclass(frozen=True)
class DevRun:
    """How `invoke dev` runs it: {host}, {port} and {repo} in argv and env are filled in."""

    argv: tuple[str, ...]
    cwd: str  # relative to the checkout
    env: Mapping[str, str] = field(default_factory=dict)
    open_path: str | None = None  # the path it prints to open; None: its health path


@dataclass(frozen=True)
class Component:
    name: str  # "backend": the chart's component label
    object_name: str  # "<namePrefix>-backend": its Deployment/StatefulSet and Service
    port: int
    health_path: str | None  # None: not an HTTP service
    kind: str  # "deployment" or "statefulset"
    image_key: str  # its key under the chart's `images`
    repository: str  # the chart's default image repository
    build: Build
    migrates: bool = False  # its pods run the schema migrations (an init container)
    login: DatabaseLogin | None = None  # its own database role (none for the database itself)
    dev: DevRun | None = None  # None: `invoke dev` does not run it

    @property
    def workload(self) -> str:
        return f"{self.kind}/{self.object_name}"

    @property
    def service(self) -> str:
        return f"service/{self.object_name}"


@dataclass(frozen=True)
class Catalogue:
    prefix: str
    components: dict[str, Component]
    database_user: str = ""  # the in-cluster PostgreSQL's user and database (values.yaml)
    database_name: str = ""

    def object_name(self, what: str) -> str:
        return _object_name(self.prefix, what)

    def __getitem__(self, name: str) -> Component:
        if name not in self.components:
            raise CatalogueError(
                f"unknown component {name!r}: choose from {', '.join(self.components)}"
            )
        return self.components[name]

    def names(self) -> list[str]:
        return list(self.components)

    @property
    def database(self) -> str:
        """The in-cluster database's component (left out with an external database)."""
        return next(c.name for c in self.components.values() if c.kind == "statefulset")

    def database_url(self, password: str) -> str:
        """The URL of the in-cluster PostgreSQL, as the chart's Secret builds it."""
        db = self[self.database]
        user, name = self.database_user, self.database_name
        return f"postgresql://{user}:{password}@{db.object_name}:{db.port}/{name}"

    def logins(self) -> list[DatabaseLogin]:
        """Every service's database login, in the chart's order."""
        return [c.login for c in self.components.values() if c.login]

    def deployments(self) -> list[str]:
        """The components that run as Deployments (restartable, scalable)."""
        return [c.name for c in self.components.values() if c.kind == "deployment"]


def _object_name(prefix: str, what: str) -> str:
    """`<namePrefix>-<what>`, as the chart's `todo-app.name` helper makes it."""
    return f"{prefix}-{what}"[:63].rstrip("-")


def read_manifest(chart: str | Path = CHART) -> dict[str, Any]:
    """The chart's components.yaml as it is written (see its comments for each key)."""
    path = Path(chart) / MANIFEST
    try:
        found = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"cannot read the chart's component manifest: {exc}") from None
    if not isinstance(found, dict) or not isinstance(found.get("components"), dict):
        raise CatalogueError(f"{path} has no `components` map")
    return found


def _values(chart: Path, values_files: Iterable[str | Path]) -> dict[str, Any]:
    """The chart's values.yaml with each values file laid over it, deeply, as helm does: a
    file that sets `images.backend.repository` keeps the other images and the backend's tag."""
    return _layered([chart / "values.yaml", *map(Path, values_files)])


def _layered(paths: Iterable[Path]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in paths:
        if path.is_file():
            merged = deep_merge(merged, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return merged


def set_by_values_files(values_files: Iterable[str | Path], *keys: str) -> bool:
    """Whether one of the values files (not the chart's defaults) sets `keys[0].keys[1]...`:
    what a user wrote there is not overridden by what a deploy would set."""
    found: Any = _layered(map(Path, values_files))
    for key in keys:
        if not isinstance(found, dict) or key not in found:
            return False
        found = found[key]
    return True


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid on `base`: maps merge key by key, anything else (lists too) replaces."""
    merged = dict(base)
    for key, value in over.items():
        below = merged.get(key)
        if isinstance(below, dict) and isinstance(value, dict):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged


def load(chart: str | Path = CHART, values_files: Iterable[str | Path] = ()) -> Catalogue:
    """Read the component manifest and namePrefix of the chart in `chart`."""
    chart = Path(chart)
    manifest = read_manifest(chart)
    values = _values(chart, values_files)
    prefix = str(values.get("namePrefix") or "")
    if not prefix:
        raise CatalogueError(f"{chart}/values.yaml sets no namePrefix")
    images = values.get("images") or {}
    components = {}
    for name, spec in manifest["components"].items():
        try:
            components[name] = _component(name, spec, prefix, images, chart)
        except (KeyError, TypeError) as exc:
            problem = f"{name}'s entry lacks a key or has one of the wrong type ({exc!r})"
            raise CatalogueError(f"{chart / MANIFEST}: {problem}") from None
    database = values.get("postgresql") or {}
    return Catalogue(prefix, components, database.get("username", ""), database.get("database", ""))


def _component(
    name: str, spec: dict[str, Any], prefix: str, images: dict[str, Any], chart: Path
) -> Component:
    if spec.get("kind") not in WORKLOADS:
        kinds = " or ".join(WORKLOADS)
        raise CatalogueError(f"{chart / MANIFEST}: {name}'s kind must be {kinds}")
    image = spec["image"]
    key = image["key"]
    return Component(
        name=name,
        object_name=_object_name(prefix, name),
        port=int(spec["port"]),
        health_path=spec.get("health"),
        kind=WORKLOADS[spec["kind"]],
        image_key=key,
        # The chart's fallback when values.yaml lists no such image (todo-app.imageValues).
        repository=(images.get(key) or {}).get("repository", _object_name(prefix, key)),
        build=Build(
            image["context"], image["dockerfile"], tuple(image["baseArgs"]), image["runtimeBase"]
        ),
        migrates=bool(spec.get("migrate")),
        login=_login(spec.get("database")),
        dev=_dev(spec.get("dev")),
    )


def _dev(spec: dict[str, Any] | None) -> DevRun | None:
    if not spec:
        return None
    env = {str(k): str(v) for k, v in (spec.get("env") or {}).items()}
    return DevRun(tuple(map(str, spec["argv"])), str(spec.get("cwd", ".")), env, spec.get("open"))


def _login(spec: dict[str, str] | None) -> DatabaseLogin | None:
    if not spec:
        return None
    return DatabaseLogin(spec["role"], spec["urlKey"], spec["passwordKey"])


@functools.cache
def default() -> Catalogue:
    """The catalogue of this repository's own chart (what the images are built for)."""
    return load(CHART)


def help_names(chart: str | Path = CHART) -> dict[str, Any]:
    """What the tasks' help text names (base/defaults.py caches it): every component and every
    service, in the manifest's order, and `entry`, the one the ingress sends "/" to."""
    manifest = read_manifest(chart)
    components = manifest["components"]
    routes = [route for ingress in manifest.get("ingresses") or () for route in ingress["routes"]]
    return {
        "all": list(components),
        "services": [name for name, spec in components.items() if spec.get("kind") == "service"],
        "entry": next((r["to"] for r in routes if r["path"] == "/"), next(iter(components))),
    }
