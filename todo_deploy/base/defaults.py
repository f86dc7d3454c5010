"""The `deploy` section Invoke registers at every start, without importing pydantic there
(about 0.2 s of each `invoke` command): DeployConfig's defaults, computed once per content of
config.py and kept as JSON in the suite's cache folder."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CONFIG_SOURCE = Path(__file__).with_name("config.py")


def collection_defaults() -> dict[str, Any]:
    """config.collection_defaults(), from the cache when config.py is unchanged."""
    from todo_deploy.base.paths import cache_root

    digest = hashlib.sha256(CONFIG_SOURCE.read_bytes()).hexdigest()[:16]
    cached = cache_root() / "config" / f"defaults-{digest}.json"
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    from todo_deploy.base.config import collection_defaults as computed

    data = computed()
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
