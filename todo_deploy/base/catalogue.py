"""The app's components as the chart defines them: names, ports, health paths, images.

The chart is the one source: its `namePrefix` (values.yaml, overridden by the values files
given) and its component tables in templates/_components.tpl (`todo-app.components`: the
services rendered as Deployments; `todo-app.database`: the PostgreSQL StatefulSet). Nothing else
in the suite writes a component's object name or port.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from todo_deploy.base.paths import REPO_ROOT

TABLES = "templates/_components.tpl"
# `{{- define "todo-app.components" -}} <YAML> {{- end }}`: each table is plain YAML.
DEFINE = r'\{\{-?\s*define\s+"todo-app\.%s"\s*-?\}\}(.*?)\{\{-?\s*end\s*-?\}\}'


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class DatabaseLogin:
    """A service's own PostgreSQL role and the Secret keys of its URL and password."""

    role: str
    url_key: str
    password_key: str


@dataclass(frozen=True)
class Component:
    name: str  # "backend": the chart's component label
    object_name: str  # "<namePrefix>-backend": its Deployment/StatefulSet and Service
    port: int
    health_path: str | None  # None: not an HTTP service
    kind: str  # "deployment" or "statefulset"
    image_key: str  # its key under the chart's `images`
    repository: str  # the chart's default image repository
    migrates: bool = False  # its pods run the schema migrations (an init container)
    login: DatabaseLogin | None = None  # its own database role (none for the database itself)

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


def _table(text: str, name: str, chart: Path) -> dict[str, Any]:
    match = re.search(DEFINE % re.escape(name), text, re.S)
    if not match:
        raise CatalogueError(f"{chart / TABLES} has no `todo-app.{name}` table")
    return yaml.safe_load(match.group(1)) or {}


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


def load(chart: str | Path, values_files: Iterable[str | Path] = ()) -> Catalogue:
    """Read the component tables and namePrefix of the chart in `chart`."""
    chart = Path(chart)
    try:
        text = (chart / TABLES).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"cannot read the chart's component table: {exc}") from None
    values = _values(chart, values_files)
    prefix = str(values.get("namePrefix") or "")
    if not prefix:
        raise CatalogueError(f"{chart}/values.yaml sets no namePrefix")
    images = values.get("images") or {}
    tables = {
        "deployment": _table(text, "components", chart),
        "statefulset": _table(text, "database", chart),
    }
    components = {}
    for kind, table in tables.items():
        for name, spec in table.items():
            key = spec.get("image", name)
            components[name] = Component(
                name=name,
                object_name=_object_name(prefix, name),
                port=int(spec["port"]),
                health_path=spec.get("health"),
                kind=kind,
                image_key=key,
                repository=(images.get(key) or {}).get("repository", _object_name(prefix, name)),
                migrates=bool(spec.get("migrate")),
                login=_login(spec.get("database")),
            )
    database = values.get("postgresql") or {}
    return Catalogue(prefix, components, database.get("username", ""), database.get("database", ""))


def _login(spec: dict[str, str] | None) -> DatabaseLogin | None:
    if not spec:
        return None
    return DatabaseLogin(spec["role"], spec["urlKey"], spec["passwordKey"])


@functools.cache
def default() -> Catalogue:
    """The catalogue of this repository's own chart (what the images are built for)."""
    return load(REPO_ROOT / "helm" / "todo-app")
