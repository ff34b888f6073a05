"""The review web app in-process (FastAPI TestClient): every route, the auth rules, CSRF, escaping, headers."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import require_modules  # noqa: E402

require_modules("fastapi", "httpx")


import warnings  # noqa: E402

with warnings.catch_warnings():  # starlette >= 1.x nudges towards httpx2; httpx works fine here
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient  # noqa: E402

from moderation.queue.store import open_store  # noqa: E402
from moderation.queue.web import create_app, highlight  # noqa: E402
from conftest import XSS, hostile_frame, scored_frame  # noqa: E402

PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "root": "root-password"}
PAGES = ["/", "/?status=escalated", "/history", "/history?moderator=bob", "/comments/l001"]
FORM_POSTS = ["/decide", "/bulk", "/undo", "/logout"]
API = [("get", "/api/queue"), ("get", "/api/decisions"), ("post", "/api/decisions"), ("post", "/api/undo"),
       ("post", "/api/score")]


@pytest.fixture(scope="module")
def template_db(tmp_path_factory, small_model) -> Path:
    """Moderators and the scored sample loaded once per module (explaining 124 comments takes a while)."""
    path = tmp_path_factory.mktemp("web") / "template.db"
    s = open_store(f"sqlite:///{path}")
    for name, pw in PASSWORDS.items():
        s.add_moderator(name, pw, is_admin=name == "root")
    s.add_scored(scored_frame(small_model), model=small_model)
    s.close()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def store(tmp_path, template_db):
    shutil.copy(template_db, tmp_path / "web.db")
    s = open_store(f"sqlite:///{tmp_path / 'web.db'}")
    yield s
    s.close()


@pytest.fixture
def app(store, small_model):
    return create_app(store, model=small_model, secret="test-secret")


def client(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(app, name: str) -> tuple[TestClient, str]:
    """A client logged in as ``name`` and its session's CSRF token."""
    c = client(app)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": name, "password": PASSWORDS[name], "csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = c.get("/")
    assert page.status_code == 200
    return c, csrf_of(page.text)


def ids_on(html: str) -> list[str]:
    return re.findall(r'<article class="comment" data-id="([^"]*)"', html)


# -- open routes and refusals -------------------------------------------------------------
def test_healthz_is_open(app):
    r = client(app).get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_a_session(app, path):
    r = client(app).get(path)
    assert r.status_code == 303 and r.headers["location"] == "/login"


@pytest.mark.parametrize("path", FORM_POSTS)
def test_form_posts_need_a_session(app, store, path):
    r = client(app).post(path, data={"comment_id": "l001", "action": "remove", "csrf": "x"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert store.history() == []


@pytest.mark.parametrize("method,path", API)
def test_api_needs_a_session_or_token(app, method, path):
    c = client(app)
    r = getattr(c, method)(path, **({"json": {"text": "hi"}} if method == "post" else {}))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = getattr(c, method)(path, headers={"Authorization": "Bearer mq_not-a-token"})
    assert r.status_code == 401


def test_forged_or_tampered_session_refused(app):
    c, _ = login(app, "alice")
    good = c.cookies.get("mq_session")
    body, mac = good.rsplit(".", 1)
    other = client(app)
    other.cookies.set("mq_session", body + "." + mac[:-2] + ("AA" if not mac.endswith("AA") else "BB"))
    assert other.get("/").status_code == 303
    signed_elsewhere = create_app(app.state.store, secret="another-secret")
    c2, _ = login(signed_elsewhere, "alice")
    forged = client(app)
    forged.cookies.set("mq_session", c2.cookies.get("mq_session"))
    assert forged.get("/").status_code == 303


# -- login and logout -----------------------------------------------------------------------
def test_login_sets_httponly_lax_cookie(app):
    c = client(app)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "alice", "password": "alice-password", "csrf": token})
    cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("mq_session=")][0]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Max-Age=43200" in cookie


def test_login_wrong_password_or_no_csrf(app):
    c = client(app)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "alice", "password": "wrong-password", "csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/login?error=1" and "mq_session" not in c.cookies
    assert "Wrong name or password." in c.get("/login?error=1").text
    r = client(app).post("/login", data={"username": "alice", "password": "alice-password"})
    assert r.status_code == 403 and "mq_session" not in r.cookies


def test_login_throttled_after_failures(app):
    c = client(app)
    token = csrf_of(c.get("/login").text)
    for _ in range(5):
        c.post("/login", data={"username": "bob", "password": "nope-nope", "csrf": token})
    r = c.post("/login", data={"username": "bob", "password": "bob-password", "csrf": token})
    assert r.headers["location"] == "/login?error=2&wait=1"
    assert "Too many failed attempts: try again in 1 second." in c.get(r.headers["location"]).text


def test_logout_needs_csrf_and_releases_claims(app, store):
    c, token = login(app, "alice")
    assert c.post("/logout", data={}).status_code == 403
    assert store.list_queue(limit=1)[0]["claimed_by"] is not None
    r = c.post("/logout", data={"csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "mq_session" not in c.cookies
    assert all(x["claimed_by"] is None for x in store.list_queue(limit=500))
    assert c.get("/").status_code == 303


# -- the queue page and actions ------------------------------------------------------------------
def test_two_moderators_get_different_comments(app):
    a, _ = login(app, "alice")
    b, _ = login(app, "bob")
    ids_a, ids_b = ids_on(a.get("/").text), ids_on(b.get("/").text)
    assert len(ids_a) == len(ids_b) == 20 and not set(ids_a) & set(ids_b)


def test_queue_page_shows_score_category_spans_not_file_or_model(app, store, small_model):
    c, _ = login(app, "alice")
    html = c.get("/").text
    first = store.list_queue(limit=1)[0]
    assert ids_on(html)[0] == first["id"]
    assert f"score {first['score']:.2f}" in html and "<mark>" in html and "no category" in html
    assert first["model_version"] not in html and 'class="src"' not in html and 'class="ver"' not in html
    page = c.get(f"/comments/{first['id']}").text
    assert f'<dd class="ver">{first["model_version"]}</dd>' in page and f'<dd class="src">{first["source"]}</dd>' in page
    assert '<script src="/static/queue.js" defer></script>' in html


def test_category_shown_as_words_with_pending_counts(app, store):
    import pandas as pd

    store.add_scored(pd.DataFrame({"id": ["ia1", "ia2", "th1"], "text": ["x", "y", "z"], "score": [0.999] * 3,
                                   "flag": [True] * 3, "identity_attack": [0.9, 0.8, 0.1], "threat": [0.1, 0.1, 0.9]}))
    c, _ = login(app, "bob")
    html = c.get("/").text
    uncategorised = store.count() - 3
    assert (f'<p class="counts" id="counts">{store.count()} pending: <span class="count">2 identity attack</span> · '
            f'<span class="count">1 threat</span> · <span class="count">{uncategorised} no category</span></p>') in html
    assert '<span class="cat">identity attack</span>' in html and "identity_attack</span>" not in html
    assert '<option value="identity_attack" >identity attack</option>' in html


def test_load_more_and_the_empty_queue(app, store):
    c, _ = login(app, "alice")
    total = store.count()
    html = c.get("/").text
    assert len(ids_on(html)) == 20 and f"(20 of {total} shown)" in html and 'href="/?n=40"' in html
    more = c.get("/?n=40").text
    assert len(ids_on(more)) == 40 and ids_on(more)[:20] == ids_on(html)
    everything = c.get(f"/?n={total + 100}").text
    assert len(ids_on(everything)) == min(total, 200) and "Load more" not in everything
    filtered = c.get("/?category=threat&n=40").text
    assert "Nothing to review with these filters." in filtered
    empty = create_app(open_store(f"sqlite:///{store.url.split('///')[1]}-empty"), secret="s")
    empty.state.store.add_moderator("alice", PASSWORDS["alice"])
    e, _ = login(empty, "alice")
    page = e.get("/").text
    assert "Nothing to review. Comments get into the queue when a scored dump is loaded:" in page
    assert "moderation score dump.csv --out scored.csv --queue" in page and "moderation queue add scored.csv" in page


def test_sort_and_filters(app, store):
    c, _ = login(app, "alice")
    by_uncertainty = ids_on(c.get("/?sort=uncertainty").text)
    expected = [x["id"] for x in store.list_queue(sort="uncertainty", limit=20)]
    assert by_uncertainty[:5] == [i for i in expected if i in by_uncertainty][:5]
    assert ids_on(c.get("/?source=nothing-here").text) == []
    assert "Nothing to review with these filters." in c.get("/?category=threat").text


def test_decide_needs_csrf(app, store):
    c, token = login(app, "alice")
    cid = ids_on(c.get("/").text)[0]
    for data in ({"comment_id": cid, "action": "remove"}, {"comment_id": cid, "action": "remove", "csrf": "bad"}):
        r = c.post("/decide", data=data)
        assert r.status_code == 403
    assert store.history() == []


def test_decide_undo_and_bulk(app, store):
    c, token = login(app, "alice")
    ids = ids_on(c.get("/").text)
    r = c.post("/decide", data={"comment_id": ids[0], "action": "remove", "reason_code": "harassment", "csrf": token,
                                "next": "/?sort=uncertainty"})
    d1 = store.history(moderator="alice")[0]["id"]
    assert r.status_code == 303 and r.headers["location"] == f"/?sort=uncertainty&notice=decided&d={d1}"
    assert store.comment(ids[0])["status"] == "removed"
    assert "Decision saved." in c.get("/?notice=decided").text
    r = c.post("/undo", data={"csrf": token, "next": "/", "decision_id": str(d1)})
    assert r.headers["location"] == f"/?notice=undone&d={d1}" and store.comment(ids[0])["status"] == "pending"
    r = c.post("/bulk", data={"ids": ids[1:4], "action": "keep", "reason_code": "spam", "csrf": token})
    first = store.history(moderator="alice")[2]["id"]
    assert r.headers["location"] == f"/?notice=bulk&d={first}"
    assert [store.comment(i)["status"] for i in ids[1:4]] == ["kept"] * 3
    assert [(h["action"], h["reason_code"]) for h in store.history(moderator="alice")][:3] == [("keep", None)] * 3
    r = c.post("/bulk", data={"action": "keep", "csrf": token})
    assert r.headers["location"] == "/?notice=none-selected"
    r = c.post("/decide", data={"comment_id": ids[5], "action": "obliterate", "csrf": token})
    assert r.status_code == 400 and "unknown action" in r.text


def test_decide_on_someone_elses_claim_is_a_conflict(app, store):
    a, _ = login(app, "alice")
    b, token_b = login(app, "bob")
    theirs = ids_on(a.get("/").text)[0]
    r = b.post("/decide", data={"comment_id": theirs, "action": "keep", "csrf": token_b})
    assert r.headers["location"] == "/?notice=conflict" and store.comment(theirs)["status"] == "pending"


def test_next_cannot_redirect_off_site(app):
    c, token = login(app, "alice")
    for bad in ("//evil.example/", "https://evil.example/", "javascript:alert(1)", "/\\evil.example"):
        r = c.post("/undo", data={"csrf": token, "next": bad})
        assert r.headers["location"] == "/?notice=nothing"


def test_escalated_view_is_admin_only(app, store):
    a, token = login(app, "alice")
    cid = ids_on(a.get("/").text)[0]
    a.post("/decide", data={"comment_id": cid, "action": "escalate", "csrf": token})
    assert cid not in ids_on(a.get("/?status=escalated").text)  # non-admins get the pending queue
    root, rtoken = login(app, "root")
    assert ids_on(root.get("/?status=escalated").text) == [cid]
    root.post("/decide", data={"comment_id": cid, "action": "remove", "csrf": rtoken})
    assert store.comment(cid)["status"] == "removed"


# -- history ----------------------------------------------------------------------------------
def test_history_pages_and_admin_rule(app, store):
    a, ta = login(app, "alice")
    b, tb = login(app, "bob")
    ca, cb = ids_on(a.get("/").text)[0], ids_on(b.get("/").text)[0]
    a.post("/decide", data={"comment_id": ca, "action": "remove", "csrf": ta})
    b.post("/decide", data={"comment_id": cb, "action": "keep", "csrf": tb})
    assert ca in a.get("/history").text and cb not in a.get("/history").text
    assert a.get("/history?moderator=bob").status_code == 403
    assert a.get(f"/comments/{cb}").status_code == 200 and "No decisions yet." in a.get(f"/comments/{cb}").text
    assert a.get("/comments/does-not-exist").status_code == 404
    root, _ = login(app, "root")
    everyone = root.get("/history").text
    assert ca in everyone and cb in everyone
    assert ca not in root.get("/history?moderator=bob").text
    assert ">keep<" in root.get(f"/comments/{cb}").text


# -- JSON API ---------------------------------------------------------------------------------
def test_api_with_token(app, store):
    token = store.new_token("bob")
    c = client(app)
    auth = {"Authorization": f"Bearer {token}"}
    items = c.get("/api/queue?limit=3", headers=auth).json()["items"]
    assert [i["id"] for i in items] == [x["id"] for x in store.list_queue(limit=3)]
    assert c.get("/api/queue?sort=random", headers=auth).status_code == 400
    assert c.get("/api/queue?status=escalated", headers=auth).status_code == 403
    claimed = c.post("/api/claims", headers=auth, json={"limit": 2}).json()["items"]
    assert len(claimed) == 2
    assert all(store.comment(i["id"])["claimed_by"] == store.moderator("bob")["id"] for i in claimed)
    r = c.post("/api/decisions", headers=auth, json={"comment_id": claimed[0]["id"], "action": "remove",
                                                     "reason_code": "threat"})
    assert r.status_code == 201 and r.json()["action"] == "remove"
    alice = {"Authorization": f"Bearer {store.new_token('alice')}"}
    assert c.post("/api/decisions", headers=alice, json={"comment_id": claimed[0]["id"],
                                                         "action": "keep"}).status_code == 409
    assert c.post("/api/decisions", headers=auth, json=["not", "an", "object"]).status_code == 400
    rows = c.get("/api/decisions", headers=auth).json()["items"]
    assert [(d["comment_id"], d["action"], d["moderator"]) for d in rows] == [(claimed[0]["id"], "remove", "bob")]
    assert c.get("/api/decisions?moderator=alice", headers=auth).status_code == 403
    assert c.post("/api/undo", headers=auth).json()["undone"]["undid"] == "remove"
    r = c.post("/api/decisions", headers=auth, json={"comment_id": claimed[1]["id"], "action": "remove",
                                                     "reason": "threat"})
    assert r.status_code == 400 and r.json() == {"error": "the moderator's ground is reason_code (reasons are what "
                                                          "the model gives)"}


def test_reading_the_queue_never_claims(app, store):
    """GET changes nothing: claims are taken with POST /api/claims only."""
    c = client(app)
    auth = {"Authorization": f"Bearer {store.new_token('bob')}"}
    for q in ("claim=true", "claim=1", "claim=false"):
        r = c.get(f"/api/queue?{q}", headers=auth)
        assert r.status_code == 400
        assert r.json() == {"error": "reading the queue takes no claims: POST /api/claims claims comments"}
    assert len(c.get("/api/queue?limit=5", headers=auth).json()["items"]) == 5
    assert all(x["claimed_by"] is None for x in store.list_queue(limit=500))
    got = c.post("/api/claims", headers=auth, json={"limit": 3, "sort": "uncertainty"}).json()["items"]
    assert [x["id"] for x in got] == [x["id"] for x in store.list_queue(sort="uncertainty", limit=3)]
    assert c.post("/api/claims", headers=auth).status_code == 200  # an empty body: the defaults
    assert c.post("/api/claims", headers=auth, json={"sort": "random"}).status_code == 400
    assert c.post("/api/claims", headers=auth, json={"status": "escalated"}).status_code == 403
    assert c.post("/api/claims", headers=auth, json={"limit": "x"}).status_code == 400


def test_api_score(app, small_model, store):
    c = client(app)
    auth = {"Authorization": f"Bearer {store.new_token('alice')}"}
    r = c.post("/api/score", headers=auth, json={"text": "you stupid idiot"})
    body = r.json()
    assert r.status_code == 200 and set(body) >= {"score", "flag", "categories", "spans"}
    assert body["score"] == pytest.approx(float(small_model.score(["you stupid idiot"])[0]), abs=1e-6)
    assert body["flag"] == (body["score"] >= small_model.threshold)
    assert [s["fragment"] for s in body["spans"]] == [s.fragment for s in small_model.explain("you stupid idiot")]
    assert body["note"] == ""
    assert c.post("/api/score", headers=auth, json={"txt": "x"}).status_code == 400
    no_model = create_app(store, model=None, secret="s")
    assert client(no_model).post("/api/score", headers=auth, json={"text": "x"}).status_code == 503


def test_api_score_says_when_a_long_text_was_cut(app, store):
    auth = {"Authorization": f"Bearer {store.new_token('alice')}"}
    body = client(app).post("/api/score", headers=auth, json={"text": "you moron " * 10_001}).json()
    assert body["note"] == "scored on the first 100,000 characters"


def test_api_with_session_needs_csrf_header_for_posts(app):
    c, token = login(app, "alice")
    assert c.get("/api/queue").status_code == 200
    assert c.post("/api/score", json={"text": "hello"}).status_code == 403
    assert c.post("/api/score", json={"text": "hello"}, headers={"X-CSRF-Token": token}).status_code == 200


# -- hostile comments and headers -----------------------------------------------------------------
def test_xss_payloads_are_escaped_everywhere(app, store, small_model):
    store.add_scored(hostile_frame(), model=small_model)
    c, token = login(app, "root")
    c.post("/decide", data={"comment_id": "xss0", "action": "keep", "csrf": token})
    pages = [c.get("/").text, c.get("/comments/xss1").text, c.get("/history").text,
             c.get("/comments/" + XSS[2]).text]
    raw = ["<script>alert", "<img src=x", "<svg onload", 'href="javascript:', "onerror=alert(1)>"]
    for html in pages:
        for bad in raw:
            assert bad not in html
    queue = pages[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in queue
    assert "&lt;img src=x onerror=alert(1)&gt;" in queue
    assert "&#34;&gt;&lt;svg onload=alert(1)&gt;" in queue
    assert "javascript:alert(1)" in queue  # as text, never as a link
    assert len(re.findall(r"<script", queue)) == 1  # only the static queue.js


def test_highlight_escapes_every_segment():
    text = "<b>x</b> idiot <i>"
    html = highlight(text, [{"start": 9, "end": 14}, {"start": 1, "end": 2}, {"start": 100, "end": 200},
                            {"bad": 1}])
    assert str(html) == "&lt;<mark>b</mark>&gt;x&lt;/b&gt; <mark>idiot</mark> &lt;i&gt;"


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/queue.js", "/static/queue.css"])
def test_security_headers(app, path):
    r = client(app).get(path)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


def test_security_headers_on_logged_in_pages_and_api(app):
    c, _ = login(app, "alice")
    for path in ("/", "/history", "/api/queue"):
        r = c.get(path)
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"


def test_static_js_has_the_shortcuts(app):
    r = client(app).get("/static/queue.js")
    assert "javascript" in r.headers["content-type"]
    for key in ('"j"', '"k"', '"x"', '"a"', '"e"', '"u"', '"?"'):
        assert key in r.text
