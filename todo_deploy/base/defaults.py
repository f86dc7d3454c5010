"""What Invoke needs at every start, without the cost of computing it there: the `deploy`
section (DeployConfig's defaults; importing pydantic costs about 0.2 s of each `invoke` command)
and the component names the tasks' help text lists (from the chart's components.yaml). Each is
computed once per content of its source file and kept as JSON in the suite's cache folder."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from todo_deploy.base.paths import REPO_ROOT, cache_root

CONFIG_SOURCE = Path(__file__).with_name("config.py")
MANIFEST_SOURCE = REPO_ROOT / "helm" / "todo-app" / "components.yaml"


def collection_defaults() -> dict[str, Any]:
    """config.collection_defaults(), from the cache when config.py is unchanged."""

    def computed() -> dict[str, Any]:
        from todo_deploy.base.config import collection_defaults

        return collection_defaults()

    return _cached("config", "defaults", CONFIG_SOURCE, computed)


def component_names() -> dict[str, Any]:
    """catalogue.help_names() of this repository's chart, from the cache when its
    components.yaml is unchanged."""

    def computed() -> dict[str, Any]:
        from todo_deploy.base.catalogue import help_names

        return help_names(MANIFEST_SOURCE.parent)

    return _cached("components", "names", MANIFEST_SOURCE, computed)


def _cached(
    folder: str, name: str, source: Path, compute: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    cached = cache_root() / folder / f"{name}-{digest}.json"
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    data = compute()
    _write(cached, data)
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    """Atomically, so a parallel start never reads half a file; a read-only cache is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(data), encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass
