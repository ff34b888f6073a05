"""Undo as the moderator means it: the banner says what was done ("Removed comment 4512 · Undo") and undoes
exactly that; a double submit undoes once; a bulk action is undone whole; a moderator changes their own earlier
decision from the comment page and an admin anyone's, each change appended to the log; escalations carry a note
the admin sees."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import require_modules  # noqa: E402

require_modules("sqlalchemy", "fastapi", "httpx")

from moderation.queue.store import ClaimConflict, open_store  # noqa: E402
from moderation.queue.web import create_app  # noqa: E402
from conftest import web_login  # noqa: E402

PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "root": "root-password"}


@pytest.fixture
def app(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'undo.db'}")
    for name, pw in PASSWORDS.items():
        s.add_moderator(name, pw, is_admin=name == "root")
    s.add_scored(pd.DataFrame({"id": [str(4510 + i) for i in range(6)], "text": [f"text {i}" for i in range(6)],
                               "score": [0.99 - i / 100 for i in range(6)], "flag": [True] * 6}), threshold=0.5)
    yield create_app(s, secret="s")
    s.close()


def ids_on(html: str) -> list[str]:
    return re.findall(r'<article class="comment" data-id="([^"]*)"', html)


def test_the_banner_says_what_was_done_and_undoes_exactly_that(app):
    store = app.state.store
    a, t = web_login(app, "alice", PASSWORDS["alice"])
    first, second = ids_on(a.get("/").text)[:2]
    r = a.post("/decide", data={"comment_id": first, "action": "remove", "csrf": t, "next": "/"})
    d1 = store.history()[0]["id"]
    page = a.get(r.headers["location"]).text
    assert re.search(r'<div class="notice" role="status"><span>Removed comment 4510</span>\s*<form method="post" '
                     r'action="/undo"', page)
    assert f'<input type="hidden" name="decision_id" value="{d1}">' in page
    a.post("/decide", data={"comment_id": second, "action": "keep", "csrf": t})
    # the first banner's Undo, pressed twice (a double click), undoes the removal once and nothing else
    for _ in range(2):
        r = a.post("/undo", data={"decision_id": str(d1), "csrf": t, "next": "/"})
    assert [r["action"] for r in store.history()] == ["undo", "keep", "remove"]
    assert store.comment(first)["status"] == "pending" and store.comment(second)["status"] == "kept"
    assert r.headers["location"] == "/?notice=nothing"
    # after an undo, "Undo my last decision" (u) has nothing: it never reaches further back
    assert 'name="decision_id" value="">' in a.get("/").text
    third = ids_on(a.get("/").text)[1]
    a.post("/decide", data={"comment_id": third, "action": "escalate", "csrf": t})
    last = store.history()[0]["id"]
    page = a.get("/").text  # now it carries the decision it means, so a second press finds nothing
    assert re.search(rf'<form method="post" action="/undo" id="undo-form".*?name="decision_id" value="{last}"', page,
                     re.S)
    assert a.post("/undo", data={"decision_id": str(last), "csrf": t}).headers["location"] == \
        f"/?notice=undone&d={last}"
    assert a.post("/undo", data={"decision_id": str(last), "csrf": t}).headers["location"] == "/?notice=nothing"
    assert [r["action"] for r in store.history()] == ["undo", "escalate", "undo", "keep", "remove"]
    # another moderator's decision id in the query shows no banner
    b, tb = web_login(app, "bob", PASSWORDS["bob"])
    assert "Removed comment" not in b.get(f"/?notice=decided&d={d1}").text


def test_a_bulk_action_is_undone_whole(app):
    store = app.state.store
    a, t = web_login(app, "alice", PASSWORDS["alice"])
    ids = ids_on(a.get("/").text)[:4]
    r = a.post("/bulk", data={"ids": ids, "action": "remove", "reason_code": "spam", "csrf": t})
    page = a.get(r.headers["location"]).text
    assert "<span>Removed 4 comments</span>" in page
    assert store.undo_last("alice")["comment_ids"] == sorted(ids)
    assert [store.comment(i)["status"] for i in ids] == ["pending"] * 4
    assert store.undo_last("alice") is None  # one level: the second undo does not reach further back
    assert store.status_disagreements() == []


def test_moderators_change_their_own_decisions_admins_anyones(app):
    store = app.state.store
    a, ta = web_login(app, "alice", PASSWORDS["alice"])
    cid = ids_on(a.get("/").text)[0]
    a.post("/decide", data={"comment_id": cid, "action": "remove", "reason_code": "harassment", "csrf": ta})
    page = a.get(f"/comments/{cid}").text  # the comment page offers the decision form and an undo
    assert '<form method="post" action="/decide" class="decide">' in page and "Undo it</button>" in page
    r = a.post("/decide", data={"comment_id": cid, "action": "keep", "csrf": ta, "next": f"/comments/{cid}"})
    assert r.headers["location"].startswith(f"/comments/{cid}?notice=decided&d=")
    assert store.comment(cid)["status"] == "kept"
    b, tb = web_login(app, "bob", PASSWORDS["bob"])
    page = b.get(f"/comments/{cid}").text
    assert 'action="/decide"' not in page and "Undo it" not in page and "No decisions yet." in page
    assert b.post("/decide", data={"comment_id": cid, "action": "remove", "csrf": tb}).headers["location"] == \
        "/?notice=conflict"
    with pytest.raises(ClaimConflict):
        store.decide(cid, "bob", "remove")
    root, tr = web_login(app, "root", PASSWORDS["root"])
    page = root.get(f"/comments/{cid}").text
    assert 'action="/decide"' in page and "Standing decision: keep by alice." in page
    root.post("/decide", data={"comment_id": cid, "action": "remove", "reason_code": "threat", "csrf": tr})
    log = [(h["moderator"], h["action"], h["reason_code"]) for h in store.history(comment_id=cid)]
    assert log == [("root", "remove", "threat"), ("alice", "keep", None), ("alice", "remove", "harassment")]
    assert store.comment(cid)["status"] == "removed"
    with pytest.raises(ClaimConflict):  # the admin's decision is not alice's to change
        store.decide(cid, "alice", "keep")
    # the admin undoes alice's change too: back to alice's removal
    keep = store.history(comment_id=cid)[1]["id"]
    with pytest.raises(ClaimConflict, match="decided again since"):
        store.undo(keep, "root")
    store.undo(store.history(comment_id=cid)[0]["id"], "root")
    assert store.comment(cid)["status"] == "kept" and store.status_disagreements() == []


def test_an_escalation_carries_a_note_the_admin_sees(app):
    store = app.state.store
    a, ta = web_login(app, "alice", PASSWORDS["alice"])
    cid = ids_on(a.get("/").text)[0]
    a.post("/decide", data={"comment_id": cid, "action": "escalate", "note": "Is this a threat? Names a street.",
                            "csrf": ta})
    root, _ = web_login(app, "root", PASSWORDS["root"])
    page = root.get("/?status=escalated").text
    assert ids_on(page) == [cid]
    assert ('<p class="escalation">Escalated by alice: <q class="note">Is this a threat? Names a street.</q></p>'
            in page)
    assert "<td>Is this a threat? Names a street.</td>" in root.get(f"/comments/{cid}").text
    r = a.post("/decide", data={"comment_id": cid, "action": "escalate", "note": "x" * 2001, "csrf": ta})
    assert r.status_code == 400 and "a note is at most 2000 characters" in r.text
