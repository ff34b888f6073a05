"""Authors and articles: the author page (comments, decisions, removal rate, first and last seen), the admin's
audited "remove all pending comments by this author" (one bulk action, undone as one), the article page and the
queue filtered by article."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import require_modules  # noqa: E402

require_modules("sqlalchemy", "fastapi", "httpx")

from moderation.queue.store import NotAllowed, open_store  # noqa: E402
from moderation.queue.web import create_app  # noqa: E402
from conftest import web_login  # noqa: E402

PASSWORDS = {"alice": "alice-password", "root": "root-password"}


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'authors.db'}")
    for name, pw in PASSWORDS.items():
        s.add_moderator(name, pw, is_admin=name == "root")
    n = 8
    s.add_scored(pd.DataFrame({
        "id": [f"c{i}" for i in range(n)], "text": [f"comment number {i}" for i in range(n)],
        "score": [0.99 - i / 100 for i in range(n)], "flag": [True] * n,
        "author": ["troll_9"] * 5 + ["reader_1"] * 3,
        "article_id": ["a-1", "a-2", "a-1", "a-2", "a-1", "a-1", "a-2", "a-2"],
        "article_title": ["Budget vote delayed", "Flood defences", "Budget vote delayed", "Flood defences",
                          "Budget vote delayed", "Budget vote delayed", "Flood defences", "Flood defences"],
        "created_at": [f"2026-11-{10 + i:02d}T12:00:00Z" for i in range(n)]}), threshold=0.5)
    yield s
    s.close()


def test_author_record(store):
    store.decide("c0", "alice", "remove", "harassment")
    store.decide("c1", "alice", "remove")
    store.decide("c2", "alice", "keep")
    store.decide("c3", "alice", "escalate")
    a = store.author("troll_9")
    assert a == {"name": "troll_9", "counts": {"pending": 1, "removed": 2, "kept": 1, "escalated": 1}, "total": 5,
                 "removal_rate": pytest.approx(2 / 3), "first_seen": "2026-11-10T12:00:00+00:00",
                 "last_seen": "2026-11-14T12:00:00+00:00"}
    assert store.author("nobody") is None
    assert store.author("reader_1")["removal_rate"] is None


def test_remove_all_pending_by_an_author_is_one_audited_action_undone_as_one(store):
    store.decide("c0", "alice", "keep")
    with pytest.raises(NotAllowed, match="only an admin"):
        store.remove_pending_by_author("troll_9", "alice", "harassment")
    done = store.remove_pending_by_author("troll_9", "root", "harassment")
    assert (done.decided, done.refused) == (["c1", "c2", "c3", "c4"], [])
    rows = store.history(author="troll_9")
    assert [(r["comment_id"], r["action"], r["reason_code"], r["batch_id"]) for r in rows[:4]] == [
        (f"c{i}", "remove", "harassment", done.batch_id) for i in (4, 3, 2, 1)]
    assert store.decision(done.first_decision)["count"] == 4
    assert store.author("troll_9")["counts"] == {"pending": 0, "removed": 4, "kept": 1, "escalated": 0}
    assert store.comment("c5")["status"] == "pending"  # another author's comments are untouched
    with pytest.raises(Exception, match="no pending comments by troll_9"):
        store.remove_pending_by_author("troll_9", "root")
    undone = store.undo(done.first_decision + 2, "root")  # any decision of the action undoes all of it
    assert undone["comment_ids"] == ["c1", "c2", "c3", "c4"] and undone["status"] == "pending"
    assert store.author("troll_9")["counts"]["pending"] == 4 and store.status_disagreements() == []
    assert [r["action"] for r in store.history(author="troll_9")][:4] == ["undo"] * 4


def test_author_page_and_the_admins_bulk_removal(store):
    app = create_app(store, secret="s")
    store.decide("c0", "alice", "remove")
    a, ta = web_login(app, "alice", PASSWORDS["alice"])
    page = a.get("/authors/troll_9").text
    assert "<h1>Author troll_9</h1>" in page
    assert "<dd>5: 4 pending · 0 escalated · 1 removed · 0 kept</dd>" in page
    assert '<dd class="rate">100% of 1 decided</dd>' in page
    assert "<dd>10 Nov 2026, 12:00 UTC</dd>" in page and "<dd>14 Nov 2026, 12:00 UTC</dd>" in page
    assert re.findall(r'<article class="comment" data-id="([^"]*)"', page) == ["c4", "c3", "c2", "c1", "c0"]
    assert 'action="/authors/remove-pending"' not in page  # a moderator has no bulk removal
    r = a.post("/authors/remove-pending", data={"author": "troll_9", "csrf": ta})
    assert r.status_code == 403 and "only an admin" in r.text
    assert a.get("/authors/nobody").status_code == 404
    root, tr = web_login(app, "root", PASSWORDS["root"])
    page = root.get("/authors/troll_9").text
    assert "Remove all 4 pending comments by troll_9</button>" in page
    r = root.post("/authors/remove-pending", data={"author": "troll_9", "reason_code": "harassment", "csrf": tr,
                                                   "next": "/authors/troll_9"})
    first = store.history(moderator="root")[-1]["id"]
    assert r.status_code == 303 and r.headers["location"] == f"/authors/troll_9?notice=bulk&d={first}"
    page = root.get(r.headers["location"]).text
    assert "<span>Removed 4 comments</span>" in page and f'name="decision_id" value="{first}"' in page
    r = root.post("/undo", data={"decision_id": str(first), "csrf": tr, "next": "/authors/troll_9"})
    assert r.headers["location"] == f"/authors/troll_9?notice=undone&d={first}"
    assert "<span>Undone: removed 4 comments.</span>" in root.get(r.headers["location"]).text
    assert store.author("troll_9")["counts"]["pending"] == 4


def test_article_page_and_the_queue_filtered_by_article(store):
    app = create_app(store, secret="s")
    store.decide("c0", "alice", "remove")
    a, _ = web_login(app, "alice", PASSWORDS["alice"])
    page = a.get("/articles/a-1").text
    assert "<h1>Budget vote delayed</h1>" in page
    assert "4 comments in the queue: 3 pending · 0 escalated · 1 removed · 0 kept" in page
    pending, decided = page.split("<h2>Decided</h2>")
    assert re.findall(r'data-id="([^"]*)"', pending) == ["c2", "c4", "c5"]
    assert re.findall(r'data-id="([^"]*)"', decided) == ["c0"]
    assert '<a href="/?article=a-1" id="review-article">' in page
    queue = a.get("/?article=a-1").text
    assert re.findall(r'<article class="comment" data-id="([^"]*)"', queue) == ["c2", "c4", "c5"]
    assert 'Comments on <a href="/articles/a-1">Budget vote delayed</a>' in queue
    assert a.get("/articles/nope").status_code == 404
    assert [c["id"] for c in store.list_queue(article="a-2")] == ["c1", "c3", "c6", "c7"]
