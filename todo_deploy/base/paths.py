"""Where the suite keeps state and caches: each OS's own folders (platformdirs).

Linux: ~/.local/state/todo-deploy and ~/.cache/todo-deploy (XDG variables honoured); macOS:
~/Library/Application Support and ~/Library/Caches; Windows: %LOCALAPPDATA%. Environment
overrides win, so CI and tests can point them elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import PlatformDirs

APP = "todo-deploy"
# The checkout this suite runs from: the chart, the Dockerfiles and k8s/ are read relative to it.
REPO_ROOT = Path(__file__).resolve().parents[2]


def _dirs() -> PlatformDirs:
    # Built per call: the XDG variables are read when a path is asked for, not at import.
    return PlatformDirs(APP, appauthor=False)


def state_dir(*parts: str) -> Path:
    """The suite's state folder (or a part of it): dockerd, kept secrets, the host cluster."""
    return Path(_dirs().user_state_dir, *parts)


def cache_root() -> Path:
    """`$TODO_DEPLOY_CACHE`, else the user cache folder: home of every fetched or built tool."""
    override = os.environ.get("TODO_DEPLOY_CACHE")
    return Path(override) if override else Path(_dirs().user_cache_dir)


def host_state_dir() -> Path:
    """`$TODO_HOST_STATE`, else the state folder's `host`: the host cluster's state."""
    override = os.environ.get("TODO_HOST_STATE")
    return Path(override) if override else state_dir("host")
