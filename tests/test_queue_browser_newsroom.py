"""The newsroom's queue in a real headless Chromium (Debian's, via Playwright) against a real uvicorn, loaded the way
a site loads it: ``data/sample_threads.csv`` (our own comments on three articles, with authors and replies) scored
by the shipped default model with ``score --queue``.

Context on the card (article, author, posted time, the parent collapsed), the author and article pages, a bulk
action undone from the banner, an escalation note the admin reads, and the queue and a comment page at 400 px wide.
With MODERATION_SCREENSHOT=1 the queue is saved to docs/queue.png and the phone view to docs/queue-phone.png.
"""

from __future__ import annotations

import os

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

from conftest import DATA, ROOT, live_server  # noqa: E402

PASSWORDS = {"alice": "alice-password", "root": "root-password"}
PHONE = {"width": 400, "height": 860}


@pytest.fixture
def server(tmp_path, default_model):
    from moderation.batch import score_dump
    from moderation.queue.store import open_store
    from moderation.queue.web import create_app

    url = f"sqlite:///{tmp_path / 'newsroom.db'}"
    # a site that reviews more than the model's threshold flags: every one of our 11 rude replies is queued
    summary = score_dump(default_model, DATA / "sample_threads.csv", tmp_path / "scored.csv", queue=True, db=url,
                         jobs=1, threshold=0.1)
    assert summary.queued.added == 11
    store = open_store(url)
    for name, pw in PASSWORDS.items():
        store.add_moderator(name, pw, is_admin=name == "root")
    with live_server(create_app(store, model=default_model, secret="browser-secret")) as base:
        yield base, store
    store.close()


def _login(browser, base: str, name: str, viewport=None):
    context = browser.new_context(viewport=viewport or {"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(base + "/login")
    page.fill('input[name="username"]', name)
    page.fill('input[name="password"]', PASSWORDS[name])
    with page.expect_navigation():
        page.click('button[type="submit"]')
    assert page.url == base + "/"
    return context, page


def _card(page, cid: str):
    return page.locator(f'article.comment[data-id="{cid}"]')


def test_the_card_shows_who_wrote_it_where_and_in_reply_to_what(browser, server):
    base, store = server
    context, page = _login(browser, base, "alice")
    card = _card(page, "4503")
    assert card.locator("a.article").inner_text() == "Council delays the budget vote to January"
    assert card.locator("a.article-url").get_attribute("href") == "https://news.example.org/local/budget-2026"
    assert card.locator("a.author").inner_text() == "bigmouth77"
    assert card.locator("time").inner_text() == "28 Nov 2026, 08:21 UTC"
    assert card.locator(".cat").inner_text() == "insult"
    parent = card.locator(".parent-text")
    assert not parent.is_visible()  # collapsed
    card.locator("details.parent summary").click()
    assert parent.inner_text() == "To be fair, the auditors only reported last week. I'd rather they got it right."
    assert page.locator("#counts").inner_text() == "11 pending: 11 insult"
    # the author's page
    with page.expect_navigation():
        card.locator("a.author").click()
    assert page.locator("h1").inner_text() == "Author bigmouth77"
    assert page.locator("article.comment").count() == 4
    assert page.locator("dd.rate").inner_text() == "nothing decided yet"
    # the article's page, and the queue of that article alone
    with page.expect_navigation():
        page.locator('article.comment[data-id="4510"] a.article').click()
    assert page.locator("h1").inner_text() == "Council delays the budget vote to January"
    with page.expect_navigation():
        page.click("#review-article")
    ids = page.eval_on_selector_all("#items article.comment", "els => els.map(e => e.dataset.id)")
    assert sorted(ids) == ["4503", "4505", "4507", "4510"]
    context.close()


def test_a_bulk_removal_is_undone_whole_from_the_banner(browser, server):
    base, store = server
    context, page = _login(browser, base, "alice")
    for _ in range(3):  # select three with the keyboard
        page.keyboard.press("s")
        page.keyboard.press("j")
    page.select_option('#bulk select[name="reason_code"]', "harassment")
    with page.expect_navigation():
        page.click('#bulk button[value="remove"]')
    assert page.inner_text(".notice span") == "Removed 3 comments"
    assert store.count(status="removed") == 3
    with page.expect_navigation():
        page.click(".notice button.undo-banner")
    assert page.inner_text(".notice span") == "Undone: removed 3 comments."
    assert store.count(status="removed") == 0 and store.count() == 11
    assert store.status_disagreements() == []
    context.close()


def test_an_escalation_note_reaches_the_admin(browser, server):
    base, store = server
    context, page = _login(browser, base, "alice")
    card = _card(page, "4529")
    card.locator("details.note summary").click()
    card.locator('textarea[name="note"]').fill("Reads like a threat against cyclists: police?")
    with page.expect_navigation():
        card.locator('button[value="escalate"]').click()
    assert page.inner_text(".notice span") == "Escalated comment 4529"
    admin, apage = _login(browser, base, "root")
    with apage.expect_navigation():
        apage.click("text=Escalated")
    card = _card(apage, "4529")
    assert card.locator(".escalation").inner_text() == \
        "Escalated by alice: Reads like a threat against cyclists: police?"
    with apage.expect_navigation():
        card.locator('button[value="remove"]').click()
    assert store.comment("4529")["status"] == "removed"
    assert [(h["moderator"], h["action"]) for h in store.history(comment_id="4529")] == [
        ("root", "remove"), ("alice", "escalate")]
    if os.environ.get("MODERATION_SCREENSHOT") == "1":
        context.close()
        context, page = _login(browser, base, "alice")
        page.locator('article.comment[data-id="4503"] details.parent summary').click()
        page.evaluate("window.scrollTo(0, 0)")
        (ROOT / "docs").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "docs" / "queue.png"))
    context.close()
    admin.close()


def _fits(page) -> list[str]:
    """What sticks out of a 400 px wide page: horizontal scrolling, or an action button outside the screen."""
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"the page is {width} px wide")
    for box in page.eval_on_selector_all(
            "article.comment button, #bulk button, #undo-form button",
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return [e.textContent.trim(), r.left, r.right, r.width]; })"):
        name, left, right, width = box
        if left < 0 or right > PHONE["width"] or width < 40:
            problems.append(f"{name}: {left:.0f}..{right:.0f}")
    return problems


def test_usable_on_a_phone_400_px_wide(browser, server):
    base, store = server
    context, page = _login(browser, base, "alice", viewport=PHONE)
    assert _fits(page) == []
    buttons = page.locator('article.comment[data-id="4522"] form.decide .buttons button')
    assert buttons.all_inner_texts() == ["Remove (x)", "Keep (a)", "Escalate (e)"]
    tops = [b.bounding_box()["y"] for b in buttons.all()]
    assert max(tops) - min(tops) < 1  # side by side, all on the screen
    if os.environ.get("MODERATION_SCREENSHOT") == "1":
        page.screenshot(path=str(ROOT / "docs" / "queue-phone.png"))
    with page.expect_navigation():
        buttons.nth(0).click()
    assert store.comment("4522")["status"] == "removed"
    page.goto(base + "/comments/4524")
    assert _fits(page) == []
    with page.expect_navigation():
        page.locator('form.decide button[value="keep"]').click()
    assert store.comment("4524")["status"] == "kept"
    page.goto(base + "/authors/speedy_steve")
    assert _fits(page) == []
    context.close()
