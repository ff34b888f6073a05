"""End to end in a real headless Chromium (Debian's /usr/bin/chromium via Playwright) against a real uvicorn.

Logs in, reviews with the keyboard, checks the decisions in the database; hostile
comments execute nothing; two moderators in two browser contexts see different
comments. test_queue_browser_newsroom.py has the context, author, article, bulk
undo, escalation and phone tests, and saves docs/queue.png.
Skipped when Chromium or Playwright is missing, except under CI=true.
"""

from __future__ import annotations


import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from conftest import XSS, hostile_frame, live_server, scored_frame  # noqa: E402

PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "root": "root-password"}


@pytest.fixture
def server(tmp_path, small_model):
    """A real uvicorn serving the app on a free loopback port, in a background thread."""
    from moderation.queue.store import open_store
    from moderation.queue.web import create_app

    store = open_store(f"sqlite:///{tmp_path / 'browser.db'}")
    for name, pw in PASSWORDS.items():
        store.add_moderator(name, pw, is_admin=name == "root")
    frame = scored_frame(small_model)
    store.add_scored(frame[frame["flag"]].head(30), model=small_model)
    with live_server(create_app(store, model=small_model, secret="browser-secret")) as base:
        yield base, store
    store.close()


def _login(browser, base: str, name: str):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(base + "/login")
    page.fill('input[name="username"]', name)
    page.fill('input[name="password"]', PASSWORDS[name])
    with page.expect_navigation():
        page.click('button[type="submit"]')
    assert page.url == base + "/"
    return context, page, dialogs


def _ids(page) -> list[str]:
    return page.eval_on_selector_all("article.comment", "els => els.map(e => e.dataset.id)")


def _press(page, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def test_review_with_the_keyboard(browser, server):
    base, store = server
    context, page, dialogs = _login(browser, base, "alice")
    ids = _ids(page)
    assert len(ids) == 20
    assert page.get_attribute("article.comment.current", "data-id") == ids[0]
    _press(page, "x")  # remove the first
    assert store.comment(ids[0])["status"] == "removed"
    assert page.inner_text(".notice span") == f"Removed comment {ids[0]}"
    page.keyboard.press("j")  # move to the second remaining comment
    second = page.get_attribute("article.comment.current", "data-id")
    assert second == _ids(page)[1]
    page.keyboard.press("2")  # reason code 2
    _press(page, "x")  # remove it with that code
    _press(page, "e")  # escalate the current (first) one
    escalated = [h for h in store.history(moderator="alice") if h["action"] == "escalate"]
    page.keyboard.press("?")
    assert page.is_visible("#help")
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")
    _press(page, "u")  # undo the escalation
    rows = store.history(moderator="alice")
    assert [(r["action"], r["reason_code"]) for r in rows] == [("undo", None), ("escalate", None),
                                                               ("remove", "harassment"), ("remove", None)]
    assert rows[2]["comment_id"] == second and len(escalated) == 1
    assert store.comment(escalated[0]["comment_id"])["status"] == "pending"
    assert dialogs == []
    context.close()


def test_two_moderators_do_not_collide(browser, server):
    base, store = server
    ca, pa, _ = _login(browser, base, "alice")
    cb, pb, _ = _login(browser, base, "bob")
    a, b = set(_ids(pa)), set(_ids(pb))
    assert len(a) == 20 and len(b) == 10 and not a & b  # 30 in the queue
    _press(pb, "x")
    assert store.history(moderator="bob")[0]["comment_id"] in b
    ca.close()
    cb.close()


def test_hostile_comments_execute_nothing(browser, server, small_model):
    base, store = server
    store.add_scored(hostile_frame(), model=small_model)
    context, page, dialogs = _login(browser, base, "root")
    texts = page.eval_on_selector_all("article.comment .text", "els => els.map(e => e.textContent)")
    for payload in XSS:
        assert any(payload in t for t in texts)
    assert page.locator("article img, article svg, article script, main a[href^='javascript']").count() == 0
    page.keyboard.press("j")
    page.goto(base + "/comments/xss1")
    page.goto(base + "/history")
    page.wait_for_timeout(300)  # give any injected handler a chance to fire
    assert dialogs == []
    context.close()
