"""The app in a real browser: Debian's Chromium driven by Playwright.

Used against `invoke dev` (http://localhost:3000) and against the cluster (http://todo.local,
which Chromium maps to the ingress on loopback, so no hosts-file change is needed).
"""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import APIResponse, Browser, Page, Route

CHROMIUM = "/usr/bin/chromium"
# Without these Chromium keeps calling home, and this machine refuses every such connection.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct-horse-battery"
# Generous: the 2-core CI machine runs the app, the browser and the tests at once.
TIMEOUT_MS = 20_000


def chromium_path() -> str:
    path = shutil.which("chromium") or CHROMIUM
    if not Path(path).exists():
        raise RuntimeError(
            "Chromium is missing: run `python -m tests.support.testenv chromium` "
            "(installs Debian's chromium when root) or `apt-get install chromium`"
        )
    return path


@contextmanager
def chromium(app_url: str, resolve_to: str | None = None) -> Iterator[Browser]:
    """A headless Chromium; `resolve_to` ("127.0.0.1:8080") sends the app's host name there."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    args = list(CHROMIUM_ARGS)
    if resolve_to:
        args.append(f"--host-resolver-rules=MAP {urlsplit(app_url).hostname} {resolve_to}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=args)
        try:
            yield browser
        finally:
            browser.close()


@dataclass(frozen=True)
class User:
    email: str
    id: str


@dataclass
class App:
    """The app at `url` seen through `browser`; failing pages are saved in `screenshots`."""

    browser: Browser
    url: str
    screenshots: Path
    resolve_to: str | None = None  # where the browser sends the app's host name, if mapped

    def fetch(self, route: Route) -> APIResponse:
        """`route.fetch()` reaching where the browser would: Playwright's own client resolves
        names through the OS, so a mapped host name goes to its address with its Host header."""
        if not self.resolve_to:
            return route.fetch()
        parts = urlsplit(route.request.url)
        return route.fetch(
            url=parts._replace(netloc=self.resolve_to).geturl(),
            headers={**route.request.headers, "host": parts.netloc},
        )

    @contextmanager
    def page(self, name: str, viewport: dict[str, int] = DESKTOP) -> Iterator[Page]:
        """A fresh visitor (own cookies and storage); a screenshot `name`.png either way."""
        context = self.browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        try:
            yield page
            page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(self.screenshots / f"{name}-failure.png"), full_page=True)
            raise
        finally:
            context.close()

    def sign_up(self, page: Page, name: str = "Browser User") -> User:
        """A new account, signed in, on /tasks with its data loaded."""
        email = f"browser-{uuid.uuid4().hex[:10]}@example.test"
        page.goto(f"{self.url}/sign-up")
        page.get_by_test_id("auth-name").fill(name)
        page.get_by_test_id("auth-email").fill(email)
        page.get_by_test_id("auth-password").fill(PASSWORD)
        page.get_by_test_id("auth-submit").click()
        page.wait_for_url("**/tasks")
        page.get_by_test_id("task-count").wait_for()
        return User(email, user_id_of(page))

    def sign_in(self, page: Page, user: User) -> None:
        page.goto(f"{self.url}/sign-in")
        page.get_by_test_id("auth-email").fill(user.email)
        page.get_by_test_id("auth-password").fill(PASSWORD)
        page.get_by_test_id("auth-submit").click()
        page.wait_for_url("**/tasks")


@dataclass(frozen=True)
class Reply:
    status: int
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.text)


def in_page(
    page: Page,
    path: str,
    *,
    method: str = "GET",
    data: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """A request the page itself sends, with its origin, cookies and host resolution.

    Playwright's own request client resolves names through the OS, which knows no todo.local
    when the browser reaches the ingress through --host-resolver-rules.
    """
    result = page.evaluate(
        """async ([path, method, data, headers]) => {
            const init = { method, headers: { ...headers } };
            if (data !== null) {
                init.body = JSON.stringify(data);
                init.headers["Content-Type"] = "application/json";
            }
            const response = await fetch(path, init);
            return { status: response.status, text: await response.text() };
        }""",
        [path, method, data, headers or {}],
    )
    return Reply(int(result["status"]), str(result["text"]))


def token_of(page: Page) -> str:
    """The signed-in visitor's JWT for the back end, as the page itself gets it."""
    response = in_page(page, "/api/auth/token")
    assert response.ok, response.text
    return str(response.json()["token"])


def user_id_of(page: Page) -> str:
    payload = token_of(page).split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def add_tasks(page: Page, user: User, titles: list[str]) -> None:
    """Tasks made through the API (faster than the form), then shown by a reload."""
    headers = {"Authorization": f"Bearer {token_of(page)}"}
    for title in titles:
        reply = in_page(
            page, f"/api/{user.id}/tasks", method="POST", data={"title": title}, headers=headers
        )
        assert reply.ok, reply.text
    page.reload()
    page.get_by_test_id("task-count").wait_for()


def chat(page: Page, message: str) -> None:
    """Sends one message and waits until the reply is in the transcript."""
    replies = page.locator('[data-testid="chat-message"][data-role="assistant"]')
    before = replies.count()
    page.get_by_test_id("chat-input").fill(message)
    page.get_by_test_id("chat-send").click()
    from playwright.sync_api import expect

    expect(replies).to_have_count(before + 1)
    expect(page.get_by_test_id("chat-pending")).to_have_count(0)
