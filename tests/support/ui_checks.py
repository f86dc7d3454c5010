"""What a new user meets, checked in a real browser through the cluster's ingress (tests/e2e);
`invoke dev` runs the journey (tests/dev).

Each check is one complete story that failed before its fix (issue 14): it signs up its own
user, so the checks are independent and may run in any order.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, Route, expect

from tests.support.axe import assert_accessible
from tests.support.browser import DESKTOP, PHONE, App, add_tasks, chat, in_page, token_of

ASSISTANT = '[data-testid="chat-message"][data-role="assistant"]'

# A sample of the offline assistant's corpus (backend/tests/agent/test_offline_corpus.py), as a
# person types it: (message, the tools its reply used).
CORPUS_SAMPLE = [
    ("please add call mom", ["add_task"]),
    ("remind me to buy milk", ["add_task"]),
    ("what's pending?", ["list_tasks"]),
    ("show tasks not completed", ["list_tasks"]),
    ("I finished call mom", ["list_tasks", "complete_task"]),
    ("see you later", []),
    ("List 3 ideas for dinner", []),
]


def _tool_names(page: Page) -> list[str]:
    reply = page.locator(ASSISTANT).last
    names = reply.locator('[data-testid="tool-call"]').evaluate_all(
        "items => items.map(item => item.dataset.toolName)"
    )
    return [str(name) for name in names]


def _focused_test_id(page: Page) -> str | None:
    return page.evaluate("() => document.activeElement?.dataset?.testid ?? null")


def journey(app: App) -> None:
    """Sign up, add and complete a task, let the chat add one, then reload and sign in again:
    the conversation is still there, and the list switches, starts and deletes conversations."""
    with app.page("journey") as page:
        user = app.sign_up(page)
        page.get_by_test_id("new-task-title").fill("water the plants")
        page.get_by_test_id("add-task").click()
        item = page.get_by_test_id("task-item").filter(has_text="water the plants")
        expect(item).to_have_count(1)
        item.get_by_test_id("task-toggle").check()
        expect(item.get_by_test_id("task-toggle")).to_be_checked()

        chat(page, "add buy milk")
        assert _tool_names(page) == ["add_task"]
        expect(page.get_by_test_id("task-item").filter(has_text="buy milk")).to_have_count(1)

        page.reload()
        expect(page.locator(ASSISTANT)).to_have_count(1)
        expect(page.get_by_test_id("chat-log")).to_contain_text("add buy milk")

        page.get_by_test_id("chat-new").click()
        expect(page.get_by_test_id("chat-message")).to_have_count(0)
        chat(page, "what's pending?")
        page.get_by_test_id("chat-history").click()
        conversations = page.get_by_test_id("conversation")
        expect(conversations).to_have_count(2)
        expect(conversations.first).to_contain_text("what's pending?")  # newest first

        conversations.last.get_by_test_id("conversation-open").click()
        expect(page.get_by_test_id("chat-log")).to_contain_text("add buy milk")
        expect(page.get_by_test_id("chat-log")).not_to_contain_text("what's pending?")

        # A new sign-in opens the latest conversation.
        page.get_by_test_id("sign-out").click()
        page.wait_for_url("**/sign-in")
        app.sign_in(page, user)
        expect(page.get_by_test_id("chat-log")).to_contain_text("what's pending?")

        page.get_by_test_id("chat-history").click()
        page.get_by_test_id("conversation").first.get_by_test_id("conversation-delete").click()
        expect(page.get_by_test_id("conversation")).to_have_count(1)
        expect(page.get_by_test_id("chat-log")).not_to_contain_text("what's pending?")
        page.reload()
        page.get_by_test_id("chat-history").click()
        expect(page.get_by_test_id("conversation")).to_have_count(1)


def corpus_sample(app: App) -> None:
    """Natural phrasings reach the right tools, and small talk runs none."""
    with app.page("corpus-sample") as page:
        app.sign_up(page)
        for message, tools in CORPUS_SAMPLE:
            chat(page, message)
            assert _tool_names(page) == tools, f"{message!r} ran {_tool_names(page)}"
        # Delete by title looks the task up and asks first; only "yes" deletes.
        chat(page, "delete buy milk")
        assert _tool_names(page) == ["list_tasks"]
        expect(page.locator(ASSISTANT).last).to_contain_text("yes")
        expect(page.get_by_test_id("task-item").filter(has_text="buy milk")).to_have_count(1)
        chat(page, "yes")
        assert _tool_names(page) == ["delete_task"]
        expect(page.get_by_test_id("task-item").filter(has_text="buy milk")).to_have_count(0)


def outcomes_are_honest(app: App) -> None:
    """A failed tool says what was not done; a reply lost on its way back shows what the server
    saved (the change included) instead of offering to send the message again."""
    with app.page("outcomes") as page:
        app.sign_up(page)
        chat(page, "complete task 999999")
        expect(page.get_by_test_id("tool-outcome")).to_contain_text("Not done: task 999999")

        def lose_the_reply(route: Route) -> None:
            app.fetch(route)  # the server runs the whole turn...
            route.abort()  # ...and its answer never reaches the page

        page.route("**/chat/stream", lose_the_reply)
        page.get_by_test_id("chat-input").fill("add buy milk")
        page.get_by_test_id("chat-send").click()
        expect(page.get_by_test_id("chat-error")).to_contain_text("what was saved")
        expect(page.locator(ASSISTANT).last).to_contain_text('Added "buy milk"')
        expect(page.get_by_test_id("chat-input")).to_have_value("")
        expect(page.get_by_test_id("task-item").filter(has_text="buy milk")).to_have_count(1)


def page_height_stays_bounded(app: App) -> None:
    """Once the transcript fills its scrolling box, more turns leave the page's height alone
    (the screen-reader labels of the messages once stretched it by ~140 px a turn)."""
    with app.page("page-height") as page:
        app.sign_up(page)
        # Questions only: the task list beside the chat keeps its height.
        for _ in range(4):
            chat(page, "what's on my list?")
        start = page.evaluate("() => document.documentElement.scrollHeight")
        for _ in range(6):
            chat(page, "what's on my list?")
        end = page.evaluate("() => document.documentElement.scrollHeight")
        assert end - start < 20, f"the page grew by {end - start} px over 6 chat turns"


def focus_stays_on_the_list(app: App) -> None:
    """A toggle keeps focus on its checkbox; a delete puts it on the next task, not the body."""
    with app.page("focus") as page:
        user = app.sign_up(page)
        add_tasks(page, user, ["first task", "second task"])
        first = page.get_by_test_id("task-item").filter(has_text="first task")
        first.get_by_test_id("task-toggle").focus()
        page.keyboard.press("Space")
        expect(first).to_have_attribute("data-completed", "true")
        page.wait_for_timeout(300)  # the list reloads after the toggle
        assert _focused_test_id(page) == "task-toggle"

        first.get_by_test_id("delete-task").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("task-item")).to_have_count(1)
        page.wait_for_timeout(300)
        assert _focused_test_id(page) == "task-toggle"
        focused_title = page.evaluate(
            "() => document.activeElement.closest('[data-testid=task-item]').textContent"
        )
        assert "second task" in focused_title


def validation_error_has_no_retry(app: App) -> None:
    """Bad input is refused in words, offers no Retry, and the message goes once it is edited."""
    with app.page("validation") as page:
        app.sign_up(page)
        page.get_by_test_id("new-task-title").fill("   ")
        page.get_by_test_id("add-task").click()
        error = page.get_by_test_id("task-error")
        expect(error).to_contain_text("Enter a title")
        expect(error.get_by_role("button", name="Retry")).to_have_count(0)
        page.get_by_test_id("new-task-title").fill("a real title")
        expect(error).to_have_count(0)


def sign_up_errors_are_worded_for_people(app: App) -> None:
    """No "[body.email] ..."; the error clears when the field is edited; no blank name."""
    with app.page("sign-up-errors") as page:
        page.goto(f"{app.url}/sign-up")
        page.get_by_test_id("auth-name").fill("Someone")
        page.get_by_test_id("auth-email").fill("someone@nowhere")  # Chromium lets this through
        page.get_by_test_id("auth-password").fill("correct-horse-battery")
        page.get_by_test_id("auth-submit").click()
        error = page.get_by_test_id("auth-error")
        expect(error).to_have_text("Enter a valid email address, like name@example.com.")
        page.get_by_test_id("auth-email").fill("someone@example.test")
        expect(error).to_have_count(0)

        page.get_by_test_id("auth-name").fill("   ")
        page.get_by_test_id("auth-password").fill("short")
        page.get_by_test_id("auth-submit").click()
        # The browser's own check on the password speaks first; then the blank name is refused.
        page.get_by_test_id("auth-password").fill("correct-horse-battery")
        page.get_by_test_id("auth-submit").click()
        expect(error).to_have_text("Enter your name.")
        assert page.url.endswith("/sign-up")

        # The server refuses a blank name too, whatever the client does.
        reply = in_page(
            page,
            "/api/auth/sign-up/email",
            method="POST",
            data={"email": "blank-name@example.test", "password": "correct-horse", "name": " "},
        )
        assert reply.status == 400, reply.text
        assert reply.json()["code"] == "NAME_REQUIRED"


def deleted_task_can_be_undone(app: App) -> None:
    """A delete hides the task and offers Undo; without Undo the delete is carried out."""
    with app.page("undo") as page:
        user = app.sign_up(page)
        add_tasks(page, user, ["keep me", "drop me"])
        items = page.get_by_test_id("task-item")
        items.filter(has_text="keep me").get_by_test_id("delete-task").click()
        expect(page.get_by_test_id("undo-toast")).to_contain_text("keep me")
        expect(items.filter(has_text="keep me")).to_have_count(0)
        page.get_by_test_id("undo-delete").click()
        expect(items.filter(has_text="keep me")).to_have_count(1)

        items.filter(has_text="drop me").get_by_test_id("delete-task").click()
        expect(page.get_by_test_id("undo-toast")).to_have_count(0, timeout=10_000)
        page.reload()
        expect(page.get_by_test_id("task-count")).to_have_text("1 task")
        expect(items.filter(has_text="keep me")).to_have_count(1)


def phone_reaches_the_assistant(app: App) -> None:
    """On a phone the assistant is one tap away, however long the list."""
    with app.page("phone", PHONE) as page:
        user = app.sign_up(page)
        add_tasks(page, user, [f"task {n}" for n in range(12)])
        page.get_by_role("tab", name="Assistant").click()
        send = page.get_by_test_id("chat-send")
        expect(send).to_be_in_viewport(ratio=1)
        assert page.evaluate("() => window.scrollY") == 0
        box = page.get_by_test_id("sign-out").bounding_box()
        assert box and box["height"] < 48, f"Sign out wraps: {box}"
        for _ in range(3):
            chat(page, "what's pending?")
        page.evaluate("() => window.scrollTo(0, 0)")
        expect(send).to_be_in_viewport(ratio=1)  # the transcript scrolls, not the page
        page.get_by_role("tab", name="Tasks").click()
        expect(page.get_by_test_id("task-item")).to_have_count(12)


def sign_in_page_names_the_product(app: App) -> None:
    with app.page("sign-in") as page:
        page.goto(f"{app.url}/sign-in")
        expect(page.get_by_test_id("product-name")).to_have_text("Todo AI Chatbot")


def tool_calls_fold_and_chips_send(app: App) -> None:
    """A suggestion sends at once; the tools used stay folded until asked for."""
    with app.page("chips") as page:
        app.sign_up(page)
        page.get_by_test_id("chat-suggestion").filter(has_text="Add buy milk").click()
        expect(page.locator(ASSISTANT)).to_have_count(1)
        call = page.locator('[data-testid="tool-call"][data-tool-name="add_task"]')
        expect(call).to_have_count(1)
        expect(call).to_be_hidden()
        page.get_by_test_id("tool-calls").locator("summary").click()
        expect(call).to_be_visible()


def assistant_mode_is_stated(app: App) -> None:
    """Without an API key the panel says it is in command mode (and says nothing with one)."""
    with app.page("mode") as page:
        user = app.sign_up(page)
        mode = in_page(
            page, f"/api/{user.id}/assistant", headers={"Authorization": f"Bearer {token_of(page)}"}
        ).json()["mode"]
        note = page.get_by_test_id("assistant-mode")
        if mode == "offline":
            expect(note).to_contain_text("Command mode")
        else:
            expect(note).to_have_count(0)


def accessible_at_desktop_and_phone_sizes(app: App) -> None:
    """axe-core finds no serious or critical violation on any page, at either size."""
    for viewport, size in ((DESKTOP, "desktop"), (PHONE, "phone")):
        with app.page(f"axe-{size}", viewport) as page:
            for path in ("/sign-in", "/sign-up"):
                page.goto(f"{app.url}{path}")
                assert_accessible(page, f"{path} ({size})")
            user = app.sign_up(page)
            add_tasks(page, user, ["pay rent", "call the bank"])
            page.get_by_test_id("task-toggle").first.check()
            assert_accessible(page, f"/tasks ({size})")
            if viewport is PHONE:
                page.get_by_role("tab", name="Assistant").click()
            chat(page, "add buy milk")
            page.get_by_test_id("tool-calls").last.locator("summary").click()
            page.get_by_test_id("chat-history").click()
            assert_accessible(page, f"/tasks with a conversation ({size})")
            if viewport is PHONE:
                page.get_by_role("tab", name="Tasks").click()
            page.get_by_test_id("delete-task").first.click()
            expect(page.get_by_test_id("undo-toast")).to_be_visible()
            assert_accessible(page, f"/tasks with the undo toast ({size})")


CHECKS: list[Callable[[App], None]] = [
    journey,
    corpus_sample,
    outcomes_are_honest,
    page_height_stays_bounded,
    focus_stays_on_the_list,
    validation_error_has_no_retry,
    sign_up_errors_are_worded_for_people,
    deleted_task_can_be_undone,
    phone_reaches_the_assistant,
    sign_in_page_names_the_product,
    tool_calls_fold_and_chips_send,
    assistant_mode_is_stated,
    accessible_at_desktop_and_phone_sizes,
]
CHECK_IDS = [check.__name__ for check in CHECKS]
