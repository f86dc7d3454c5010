"""The browser checks through the cluster's ingress at http://todo.local."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.browser import App, chromium
from todo_deploy.providers.base import IngressAccess


@contextmanager
def ingress_app(access: IngressAccess, screenshots: Path) -> Iterator[App]:
    """The deployed app by its host name, which Chromium resolves to the ingress address."""
    ingress = urlsplit(access.url)
    port = ingress.port or 80
    app_url = f"http://{access.host}" + ("" if port == 80 else f":{port}")
    resolve_to = f"{ingress.hostname}:{port}"
    with chromium(app_url, resolve_to=resolve_to) as browser:
        yield App(browser, app_url, screenshots, resolve_to)
