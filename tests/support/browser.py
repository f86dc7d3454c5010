"""A user's journey in a real browser (Debian's Chromium driven by Playwright).

Used against `invoke dev` (http://localhost:3000) and against the cluster (http://todo.local,
which Chromium maps to the ingress on loopback, so no hosts-file change is needed).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit

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


def chromium_path() -> str:
    path = shutil.which("chromium") or CHROMIUM
    if not Path(path).exists():
        raise RuntimeError(
            "Chromium is missing: run `python -m tests.support.testenv chromium` "
            "(installs Debian's chromium when root) or `apt-get install chromium`"
        )
    return path


def run_journey(app_url: str, screenshots: Path, *, resolve_to: str | None = None) -> None:
    """Sign up, add a task, complete it, ask the chat to add "buy milk", see it in the list.

    `resolve_to` ("127.0.0.1:8080") makes Chromium send the app's host name to that address.
    """
    from playwright.sync_api import expect, sync_playwright

    args = list(CHROMIUM_ARGS)
    if resolve_to:
        args.append(f"--host-resolver-rules=MAP {urlsplit(app_url).hostname} {resolve_to}")
    email = f"browser-{uuid.uuid4().hex[:10]}@example.test"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=args)
        page = browser.new_page()
        page.set_default_timeout(20_000)
        try:
            page.goto(f"{app_url}/sign-up")
            page.get_by_test_id("auth-name").fill("Browser User")
            page.get_by_test_id("auth-email").fill(email)
            page.get_by_test_id("auth-password").fill("correct-horse-battery")
            page.get_by_test_id("auth-submit").click()
            page.wait_for_url("**/tasks")

            page.get_by_test_id("new-task-title").fill("water the plants")
            page.get_by_test_id("add-task").click()
            item = page.get_by_test_id("task-item").filter(has_text="water the plants")
            expect(item).to_have_count(1)
            item.get_by_test_id("task-toggle").check()
            expect(item.get_by_test_id("task-toggle")).to_be_checked()

            page.get_by_test_id("chat-input").fill("add buy milk")
            page.get_by_test_id("chat-send").click()
            expect(
                page.locator('[data-testid="tool-call"][data-tool-name="add_task"]')
            ).to_have_count(1)
            milk = page.get_by_test_id("task-item").filter(has_text="buy milk")
            expect(milk).to_have_count(1)
            page.screenshot(path=str(screenshots / "journey.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(screenshots / "journey-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
