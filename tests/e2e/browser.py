"""The browser journey through the cluster's ingress at http://todo.local."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tests.support.browser import run_journey
from todo_deploy.providers.base import IngressAccess


def run_browser_journey(access: IngressAccess, screenshots: Path) -> None:
    ingress = urlsplit(access.url)
    port = ingress.port or 80
    app_url = f"http://{access.host}" + ("" if port == 80 else f":{port}")
    run_journey(app_url, screenshots, resolve_to=f"{ingress.hostname}:{port}")
