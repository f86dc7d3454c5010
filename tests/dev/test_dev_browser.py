"""`invoke dev` for real: three local services on SQLite, driven by a browser."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, Route, expect

from tests.support.browser import App, User, chromium, in_page, token_of
from tests.support.require import require
from tests.support.signals import default_sigint, stop_group
from tests.support.ui_checks import journey

ROOT = Path(__file__).resolve().parents[2]
APP = "http://localhost:3000"
HEALTH = ("http://127.0.0.1:8000/health", "http://127.0.0.1:8001/health", f"{APP}/api/health")
PORTS = (3000, 8000, 8001)
# A save as slow as a remote database's round trip (Neon) makes it (issue 23).
SAVE_DELAY_S = 1.5

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]


def _wait_for(urls: tuple[str, ...], proc: subprocess.Popen, deadline: float) -> None:
    pending = list(urls)
    while pending:
        assert proc.poll() is None, "invoke dev exited before its services answered"
        assert time.monotonic() < deadline, f"not answering: {pending}"
        try:
            if requests.get(pending[0], timeout=5).status_code == 200:
                pending.pop(0)
                continue
        except requests.RequestException:
            pass
        time.sleep(1)


def _ports_in_use() -> list[int]:
    busy = []
    for port in PORTS:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    return busy


@pytest.fixture(scope="module")
def dev_stack() -> Iterator[str]:
    # Another stack on these ports would answer in place of ours and the checks would test it.
    busy = _ports_in_use()
    assert not busy, f"ports {busy} are taken: stop the other `invoke dev` (or its leftovers)"
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "dev"],
        cwd=ROOT,
        start_new_session=True,
        preexec_fn=default_sigint,
        env={**os.environ, "NEXT_TELEMETRY_DISABLED": "1"},
    )
    try:
        _wait_for(HEALTH, proc, time.monotonic() + 600)
        # `next dev` compiles each page on its first request: do it before the browser's clock.
        for path in ("/sign-up", "/tasks", "/sign-in"):
            requests.get(APP + path, timeout=300)
        yield APP
    finally:
        stop_group(proc, grace=30)


@pytest.fixture(scope="module")
def app(dev_stack: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    require(Path("/usr/bin/chromium").exists(), "Chromium is not installed")
    with chromium(dev_stack) as browser:
        yield App(browser, dev_stack, tmp_path_factory.mktemp("screenshots"))


def test_the_journey_in_the_browser(app: App) -> None:
    # The journey proves the local loop end to end (sign-up, tasks, the assistant, a reload, a
    # second sign-in). The other UI checks are about the same front-end code: they run once,
    # on the production build through the ingress (tests/e2e), where people meet it; the slow
    # saves below run here as well, where a title typed during a save was seen lost.
    journey(app)


class SlowSaves:
    """Holds back every task the page creates, as a slow database would: each goes on at
    `release()`, once it has waited SAVE_DELAY_S (longer if the test is still typing), so what
    the test does meanwhile surely happens while the save is in flight."""

    def __init__(self, page: Page, user: User) -> None:
        self.page = page
        self.sent: list[str] = []  # the titles the browser sent, in order
        self._held: list[tuple[float, Route]] = []
        page.route(f"**/api/{user.id}/tasks", self._hold)

    def _hold(self, route: Route) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        self.sent.append(str(json.loads(route.request.post_data or "{}").get("title")))
        self._held.append((time.monotonic(), route))

    def wait_for(self, count: int) -> None:
        """Until `count` saves have been sent in all (they stay held)."""
        deadline = time.monotonic() + 20
        while len(self.sent) < count and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)  # the route's handler runs while Playwright waits
        assert len(self.sent) == count, f"saves sent: {self.sent}"

    def release(self, *, fail: bool = False) -> None:
        """Lets the held saves go on, or answers each with a 503 when `fail`."""
        for arrived, route in self._held:
            left = arrived + SAVE_DELAY_S - time.monotonic()
            if left > 0:
                self.page.wait_for_timeout(left * 1000)
            if fail:
                route.fulfill(status=503, json={"detail": "database unavailable"})
            else:
                route.continue_()
        self._held.clear()


def _titles(page: Page, user: User) -> list[str]:
    """The user's tasks as the back end has them."""
    headers = {"Authorization": f"Bearer {token_of(page)}"}
    reply = in_page(page, f"/api/{user.id}/tasks", headers=headers)
    assert reply.ok, reply.text
    return sorted(str(task["title"]) for task in reply.json())


def test_typing_during_a_slow_save_is_kept(app: App) -> None:
    """A title typed while the previous task is still saving is still in the form when that
    save returns, and the saved task is listed once."""
    with app.page("slow-save-typing") as page:
        user = app.sign_up(page)
        saves = SlowSaves(page, user)
        title = page.get_by_test_id("new-task-title")
        items = page.get_by_test_id("task-item")
        title.fill("water the plants")
        title.press("Enter")
        saves.wait_for(1)
        page.keyboard.type("call the plumber")  # the next task, while the first one saves
        saves.release()

        expect(items.filter(has_text="water the plants")).to_have_count(1)
        expect(page.get_by_test_id("add-task")).to_have_text("Add task")  # the save is over
        expect(title).to_have_value("call the plumber")  # not erased, nor added to the first
        expect(title).to_be_focused()
        assert saves.sent == ["water the plants"]
        assert _titles(page, user) == ["water the plants"]


def test_enter_twice_during_a_slow_save_adds_one_task(app: App) -> None:
    """Enter pressed twice, or the form submitted twice before React has drawn the first
    submit, sends the task once."""
    with app.page("slow-save-enter-twice") as page:
        user = app.sign_up(page)
        saves = SlowSaves(page, user)
        title = page.get_by_test_id("new-task-title")
        items = page.get_by_test_id("task-item")

        title.fill("buy stamps")
        title.press("Enter")
        title.press("Enter")
        saves.wait_for(1)
        page.wait_for_timeout(500)  # room for a second save to be sent
        saves.release()
        expect(items.filter(has_text="buy stamps")).to_have_count(1)

        # Both submits in one task: the second one still sees the title in the field.
        title.fill("post the letter")
        page.get_by_role("form", name="Add a task").evaluate(
            "form => { form.requestSubmit(); form.requestSubmit(); }"
        )
        saves.wait_for(2)
        page.wait_for_timeout(500)
        saves.release()
        expect(items.filter(has_text="post the letter")).to_have_count(1)
        expect(page.get_by_test_id("add-task")).to_have_text("Add task")

        assert saves.sent == ["buy stamps", "post the letter"]
        assert _titles(page, user) == ["buy stamps", "post the letter"]
        page.reload()
        expect(items).to_have_count(2)


def test_a_slow_save_leaves_focus_where_the_user_moved_it(app: App) -> None:
    """Once the save is over the title gets focus back for the next task, but not from the
    description the user moved on to meanwhile: what they type goes on landing there."""
    with app.page("slow-save-focus") as page:
        user = app.sign_up(page)
        saves = SlowSaves(page, user)
        title = page.get_by_test_id("new-task-title")
        description = page.get_by_test_id("new-task-description")
        title.fill("fix the sink")
        title.press("Enter")
        saves.wait_for(1)
        page.keyboard.type("call the plumber")
        page.keyboard.press("Tab")
        page.keyboard.type("before noon")
        saves.release()

        expect(page.get_by_test_id("task-item").filter(has_text="fix the sink")).to_have_count(1)
        expect(page.get_by_test_id("add-task")).to_have_text("Add task")
        page.keyboard.type(", or after six")
        expect(title).to_have_value("call the plumber")
        expect(description).to_have_value("before noon, or after six")
        expect(description).to_be_focused()


def test_a_failed_slow_save_gives_its_text_back_to_an_empty_form_only(app: App) -> None:
    """A save that fails puts its title and description back when nothing was typed
    meanwhile; after the user has started the next task, neither is mixed into it."""
    with app.page("slow-save-failed") as page:
        user = app.sign_up(page)
        saves = SlowSaves(page, user)
        title = page.get_by_test_id("new-task-title")
        description = page.get_by_test_id("new-task-description")
        error = page.get_by_test_id("task-error")

        title.fill("renew the passport")
        description.fill("photos first")
        title.press("Enter")
        saves.wait_for(1)
        saves.release(fail=True)
        expect(error).to_be_visible()
        expect(title).to_have_value("renew the passport")
        expect(description).to_have_value("photos first")

        title.press("Enter")  # again: the title and its description are both sent
        saves.wait_for(2)
        page.keyboard.type("book the dentist")
        saves.release(fail=True)
        expect(error).to_be_visible()
        expect(page.get_by_test_id("add-task")).to_have_text("Add task")
        expect(title).to_have_value("book the dentist")
        expect(description).to_have_value("")  # not the failed task's description
        assert saves.sent == ["renew the passport", "renew the passport"]
        assert _titles(page, user) == []
