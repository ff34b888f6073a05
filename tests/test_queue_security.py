"""The review web app under attack, beyond what test_queue_web.py covers.

* every route, found by enumerating ``app.routes`` (so a new route is covered
  automatically), refuses requests without a valid session or token: none,
  garbage, forged, expired, for a moderator who does not exist;
* every form POST needs the CSRF token of *this* session (enumerated), every
  unsafe API call with a session needs it in ``X-CSRF-Token``;
* login is throttled per name and per client address, in the database (see
  test_queue_throttle.py for the delays);
* a moderator cannot take, decide or undo another's claims or decisions, read
  another's decisions, or act as an admin;
* comment text (and ids, sources, reasons, moderator names) with script,
  event-handler, ``javascript:`` and CSS payloads renders inert on every page
  that shows comments, and comes back as plain JSON strings from the API;
* SQL-injection strings in every query, form, JSON, header and cookie parameter
  change nothing and never produce a 5xx.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest

from conftest import require_modules  # noqa: E402

require_modules("fastapi", "httpx")


import warnings  # noqa: E402

with warnings.catch_warnings():  # starlette >= 1.x nudges towards httpx2; httpx works fine here
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient  # noqa: E402

from sqlalchemy import select  # noqa: E402

from moderation.queue.web import auth as web  # noqa: E402
from moderation.queue.schema import comments, decisions, moderators
from moderation.queue.store import open_store  # noqa: E402
from moderation.queue.web import create_app  # noqa: E402
from moderation.queue.web.perspective import is_perspective_path  # noqa: E402
from conftest import fresh_postgres_url, scored_frame, skip_or_fail  # noqa: E402

SECRET = "security-test-secret"
PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "root": "root-password"}
HOSTILE_NAME = "<img/src=x/onerror=alert(1)>"  # moderator names may not contain spaces, nothing else
PASSWORDS[HOSTILE_NAME] = "hostile-password"

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "' onmouseover='alert(1)",
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">click</a>',
    "<iframe src=javascript:alert(1)></iframe>",
    "<body onload=alert(1)>",
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="width: expression(alert(1))">',
    "<link rel=stylesheet href=//evil.example/x.css>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "</p></article></textarea><script>alert(1)</script>",
    "{{ 7*7 }}{% raw %}",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]
INJECTIONS = [
    "' OR 1=1 --",
    "1; DROP TABLE comments; --",
    "%' --",
    '" OR ""="',
    "') OR ('1'='1",
    "x' UNION SELECT name, password_hash FROM moderators --",
    "1 OR 1=1",
]
OPEN_ROUTES = {("GET", "/healthz"), ("GET", "/login"), ("POST", "/login"),
               # the Perspective API's discovery document is public, as Google's is
               ("GET", "/$discovery/rest"), ("GET", "/discovery/v1/apis/commentanalyzer/v1alpha1/rest")}


# -- fixtures ---------------------------------------------------------------------------------
def hostile_rows() -> pd.DataFrame:
    """One comment per payload: in the text (between abusive words, so spans cut through it), source,
    reasons and article id; plus comments whose id is the payload."""
    rows = []
    for i, p in enumerate(PAYLOADS):
        rows.append({"id": f"p{i}", "text": f"you idiot {p} stupid moron", "score": 0.999 - i / 1000,
                     "flag": True, "reasons": p, "source": p, "article_id": p, "article_title": p,
                     "article_url": p if i % 2 else f"https://example.org/{p}", "author": p, "parent_id": f"q{i}"})
        rows.append({"id": f"q{i}", "text": f"parent {p} text", "score": 0.01, "flag": False, "reasons": "",
                     "source": "web", "article_id": p, "article_title": None, "article_url": None, "author": None,
                     "parent_id": None})
    for i, p in enumerate(PAYLOADS[:6]):
        rows.append({"id": p, "text": f"id payload {i}", "score": 0.95 - i / 1000, "flag": True,
                     "reasons": "", "source": "web", "article_id": None, "article_title": None, "article_url": None,
                     "author": None, "parent_id": p})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def template_db(tmp_path_factory, small_model) -> Path:
    path = tmp_path_factory.mktemp("security") / "template.db"
    s = open_store(f"sqlite:///{path}")
    for name, pw in PASSWORDS.items():
        s.add_moderator(name, pw, is_admin=name == "root")
    s.add_scored(scored_frame(small_model).head(50), model=small_model, all_rows=True)
    s.close()
    return path


@pytest.fixture
def store(tmp_path, template_db):
    shutil.copy(template_db, tmp_path / "sec.db")
    s = open_store(f"sqlite:///{tmp_path / 'sec.db'}")
    yield s
    s.close()


@pytest.fixture
def app(store, small_model):
    return create_app(store, model=small_model, secret=SECRET)


@pytest.fixture
def hostile_store(store, small_model):
    store.add_scored(hostile_rows(), model=small_model)
    return store


def client(app) -> TestClient:
    # 5xx as responses, not exceptions: the tests assert on them
    return TestClient(app, follow_redirects=False, raise_server_exceptions=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(app, name: str) -> tuple[TestClient, str]:
    c = client(app)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": name, "password": PASSWORDS[name], "csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    page = c.get("/")
    assert page.status_code == 200
    return c, csrf_of(page.text)


def ids_on(html: str) -> list[str]:
    import html as htmllib

    return [htmllib.unescape(i) for i in re.findall(r'<article class="comment" data-id="([^"]*)"', html)]


def snapshot(store) -> dict:
    """Every row of every table (claims left out: viewing a page legitimately claims) and the schema."""
    out = {}
    with store.engine.connect() as conn:
        for table in (comments, decisions, moderators):
            cols = [c for c in table.c if c.name not in ("claimed_by", "claim_expires")]
            out[table.name] = sorted(tuple(map(repr, r)) for r in conn.execute(select(*cols)).all())
        if store.engine.dialect.name == "sqlite":
            out["schema"] = sorted(conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master").all())
        else:
            out["schema"] = sorted(conn.exec_driver_sql(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema()").all())
    return out


def claims(store) -> dict:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(comments.c.id, comments.c.claimed_by)
                                 .where(comments.c.claimed_by.is_not(None))).all())


def _sign(body: dict, secret: str = SECRET) -> str:
    """A session cookie as the app makes one (``_Signer``), with any body: expired, unknown moderator..."""
    raw = web._b64(json.dumps(body).encode())
    return f"{raw}.{web.Signer(secret)._mac(raw)}"


# -- every route refuses without a valid session or token ------------------------------------------
def _routes() -> list[tuple[str, str]]:
    found = []
    for r in create_app("sqlite://", secret="collect").routes:
        methods = getattr(r, "methods", None)
        if methods is None:  # a Mount: only /static is allowed (checked below)
            continue
        path = re.sub(r"\{[^}]+\}", "l001", getattr(r, "path_format", r.path))
        found += [(m, path) for m in sorted(methods)]
    return found


ROUTES = _routes()
GUARDED = [(m, p) for m, p in ROUTES if (m, p) not in OPEN_ROUTES and m != "HEAD"]
FORM_POSTS = [p for m, p in GUARDED if m == "POST" and not p.startswith("/api/") and not is_perspective_path(p)]
API_POSTS = [p for m, p in GUARDED if m == "POST" and p.startswith("/api/")]


def test_route_enumeration_sees_every_route():
    assert {("GET", "/"), ("POST", "/decide"), ("GET", "/api/queue"), ("POST", "/api/score"),
            ("GET", "/comments/l001")} <= set(GUARDED)
    assert OPEN_ROUTES <= set(ROUTES)
    assert {"/decide", "/bulk", "/undo", "/logout"} <= set(FORM_POSTS)
    mounts = [r.path for r in create_app("sqlite://", secret="collect").routes if getattr(r, "methods", None) is None]
    assert mounts == ["/static"]


BAD_CREDENTIALS = {
    "none": {},
    "garbage-cookie": {"cookies": {"mq_session": "garbage"}},
    "garbage-signed-shape": {"cookies": {"mq_session": "e30.AAAA"}},
    "forged-secret": {"cookies": {"mq_session": _sign({"m": 1, "n": "x", "e": int(time.time()) + 3600},
                                                      "not-the-secret")}},
    "expired": {"cookies": {"mq_session": _sign({"m": 1, "n": "x", "e": int(time.time()) - 5})}},
    "no-such-moderator": {"cookies": {"mq_session": _sign({"m": 999, "n": "x", "e": int(time.time()) + 3600})}},
    "body-not-a-dict": {"cookies": {"mq_session": _sign([1, "x", 9999999999])}},  # type: ignore[arg-type]
    "bearer-garbage": {"headers": {"Authorization": "Bearer mq_not-a-token"}},
    "bearer-empty": {"headers": {"Authorization": "Bearer "}},
    "basic-auth": {"headers": {"Authorization": "Basic " + base64.b64encode(b"alice:alice-password").decode()}},
    "login-cookie-only": {"cookies": {"mq_login": "0" * 32}},
}


@pytest.mark.parametrize("cred", list(BAD_CREDENTIALS))
@pytest.mark.parametrize("method,path", GUARDED, ids=[f"{m} {p}" for m, p in GUARDED])
def test_every_route_refuses_without_valid_credentials(app, store, method, path, cred):
    before, held = snapshot(store), claims(store)
    c = client(app)
    options = BAD_CREDENTIALS[cred]
    for k, v in options.get("cookies", {}).items():
        c.cookies.set(k, v)
    kwargs = {"headers": options.get("headers", {})}
    if method == "POST":
        body = {"comment_id": "l001", "action": "remove", "ids": ["l001"], "text": "x", "csrf": "x"}
        kwargs["json" if path.startswith("/api/") else "data"] = body
    r = c.request(method, path, **kwargs)
    if is_perspective_path(path):  # Google's errors: no key 403, a bad OAuth-style bearer 401
        want = (401, "UNAUTHENTICATED") if cred.startswith("bearer") else (403, "PERMISSION_DENIED")
        assert (r.status_code, r.json()["error"]["status"]) == want, r.text
    elif path.startswith("/api/"):
        assert r.status_code == 401, r.text
        assert r.json() == {"error": "authentication required"}
    else:
        assert r.status_code == 303 and r.headers["location"] == "/login", (r.status_code, r.text[:200])
    assert snapshot(store) == before and claims(store) == held


def test_head_requests_are_refused_too(app):
    for m, p in ROUTES:
        if m == "HEAD" and ("GET", p) not in OPEN_ROUTES:
            r = client(app).head(p)
            assert r.status_code in (303, 401), (p, r.status_code)


def test_static_serves_only_its_files(app):
    c = client(app)
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/templates/base.html",
                 "/static/"):
        r = c.get(path)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert "create_app" not in r.text


def test_bearer_token_is_not_a_page_session(app, store):
    """Tokens are for the JSON API; pages and form posts want a browser session (and CSRF)."""
    auth = {"Authorization": f"Bearer {store.new_token('alice')}"}
    c = client(app)
    assert c.get("/", headers=auth).status_code == 303
    assert c.post("/decide", headers=auth, data={"comment_id": "l001", "action": "remove"}).status_code == 303
    assert store.history() == []


def test_session_cookie_is_dead_after_logout(app, store):
    """Logging out deletes the session server-side: a copy of the cookie is refused everywhere afterwards."""
    c, token = login(app, "alice")
    other, _ = login(app, "alice")  # alice in another browser: that session is not this logout's business
    stolen = c.cookies.get("mq_session")
    replay = client(app)
    replay.cookies.set("mq_session", stolen)
    assert replay.get("/").status_code == 200  # the copy works while the session is live...
    assert c.post("/logout", data={"csrf": token}).status_code == 303
    replay = client(app)
    replay.cookies.set("mq_session", stolen)
    assert replay.get("/").status_code == 303  # ...and not after logout: pages,
    assert replay.get("/api/queue").status_code == 401  # the API,
    r = replay.post("/decide", data={"comment_id": "l001", "action": "remove", "csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"  # and form posts, even with its CSRF token
    assert store.history() == []
    assert other.get("/").status_code == 200


def test_revoke_sessions_logs_a_moderator_out_of_every_browser(app, store):
    a1, _ = login(app, "alice")
    a2, _ = login(app, "alice")
    b, _ = login(app, "bob")
    assert store.revoke_sessions("alice") == 2
    assert a1.get("/").status_code == 303 and a2.get("/api/queue").status_code == 401
    assert b.get("/").status_code == 200
    again, _ = login(app, "alice")  # logging in again works
    assert again.get("/history").status_code == 200


def test_session_expired_in_the_store_is_refused(app, store):
    """The store's expiry counts, whatever the cookie says (the cookie's own expiry is checked too)."""
    alice = store.moderator("alice")["id"]
    expired = store.create_session(alice, ttl=-1)
    c = client(app)
    c.cookies.set("mq_session", _sign({"m": alice, "n": expired, "e": int(time.time()) + 3600}))
    assert c.get("/").status_code == 303 and c.get("/api/queue").status_code == 401
    live = store.create_session(alice)  # a live session...
    c = client(app)
    c.cookies.set("mq_session", _sign({"m": alice, "n": live, "e": int(time.time()) - 5}))
    assert c.get("/").status_code == 303  # ...in an expired cookie
    c = client(app)
    c.cookies.set("mq_session", _sign({"m": store.moderator("root")["id"], "n": live,
                                       "e": int(time.time()) + 3600}))
    assert c.get("/").status_code == 303  # ...claiming to be another moderator
    c = client(app)
    c.cookies.set("mq_session", _sign({"m": alice, "n": live, "e": int(time.time()) + 3600}))
    assert c.get("/").status_code == 200  # the same session, honestly signed, works


def test_session_cookie_holds_a_random_id_and_the_database_only_its_hash(app, store):
    import hashlib

    from moderation.queue.schema import sessions

    c, _ = login(app, "alice")
    cookie = c.cookies.get("mq_session")
    session_id = json.loads(web._unb64(cookie.rsplit(".", 1)[0]))["n"]
    assert len(session_id) >= 43  # 256 random bits, url-safe base64
    with store.engine.connect() as conn:
        rows = conn.execute(select(sessions)).mappings().all()
    assert [r["id_hash"] for r in rows] == [hashlib.sha256(session_id.encode()).hexdigest()]
    assert all(session_id not in repr(dict(r)) for r in rows)


def test_hostile_cookie_and_csrf_values_are_refused_not_crashes(app):
    """Non-ASCII or absurd values in the cookie and CSRF fields were 500s (hmac.compare_digest on str)."""
    c = client(app)
    for value in ("\u00e9\u00e9", "a.\u00e9", "." * 5000, "\x00", "a" * 10_000 + ".b"):
        r = c.get("/", headers={"cookie": f"mq_session={value}".encode("latin-1")})
        assert r.status_code == 303, value
    c.get("/login")
    for token in ("\u00e9", "\ud7ff", "x" * 10_000, ""):
        r = c.post("/login", data={"username": "alice", "password": "alice-password", "csrf": token})
        assert r.status_code == 403 and "mq_session" not in r.cookies
    a, _ = login(app, "alice")
    r = a.post("/decide", data={"comment_id": "l001", "action": "remove", "csrf": "\u00e9\u00e8"})
    assert r.status_code == 403
    r = a.post("/api/score", json={"text": "x"}, headers={"X-CSRF-Token": "\u00e9".encode("latin-1")})
    assert r.status_code == 403


# -- CSRF -------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", FORM_POSTS)
def test_every_form_post_needs_this_sessions_csrf(app, store, path):
    a, token = login(app, "alice")
    a2, token2 = login(app, "alice")  # alice's other session (another browser)
    _, token_bob = login(app, "bob")
    login_token = csrf_of(client(app).get("/login").text)  # a login form's token, not a session's
    cid = ids_on(a.get("/").text)[0]
    assert token != token2
    before, held = snapshot(store), claims(store)
    base = {"comment_id": cid, "ids": [cid], "action": "remove", "next": "/"}
    for bad in (None, "", "x", token2, token_bob, login_token, token[:-1], token + "A", token.upper()):
        data = dict(base) if bad is None else {**base, "csrf": bad}
        r = a.post(path, data=data)
        assert r.status_code == 403, (path, bad, r.status_code)
        assert "CSRF" in r.text
        # the token in a header or the query string does not count for a form either
    r = a.post(path + "?csrf=" + quote(token), data=base, headers={"X-CSRF-Token": token})
    assert r.status_code == 403
    assert snapshot(store) == before and claims(store) == held
    assert a.get("/history").status_code == 200  # still logged in: refused, not logged out


def test_login_needs_the_login_forms_csrf(app):
    c = client(app)
    token = csrf_of(c.get("/login").text)
    good = {"username": "alice", "password": "alice-password"}
    other = client(app)
    other_token = csrf_of(other.get("/login").text)
    for bad in (None, "", "x", other_token):
        r = c.post("/login", data=good if bad is None else {**good, "csrf": bad})
        assert r.status_code == 403 and "mq_session" not in r.cookies
    # the token without the cookie it was issued with
    bare = client(app)
    r = bare.post("/login", data={**good, "csrf": token})
    assert r.status_code == 403 and "mq_session" not in r.cookies
    # a session's CSRF token is not a login token
    _, session_token = login(app, "bob")
    r = c.post("/login", data={**good, "csrf": session_token})
    assert r.status_code == 403
    r = c.post("/login", data={**good, "csrf": token})
    assert r.status_code == 303 and "mq_session" in r.cookies


@pytest.mark.parametrize("path", API_POSTS)
def test_every_api_post_with_a_session_needs_the_csrf_header(app, store, path):
    a, token = login(app, "alice")
    _, token_bob = login(app, "bob")
    cid = ids_on(a.get("/").text)[0]
    before, held = snapshot(store), claims(store)
    body = {"comment_id": cid, "action": "remove", "text": "hello"}
    for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "x"}, {"X-CSRF-Token": token_bob},
                    {"X-CSRF-Token": token + "A"}):
        r = a.post(path, json={**body, "csrf": token}, headers=headers)  # a csrf field in the body does not count
        assert r.status_code == 403, (path, headers, r.status_code)
    assert snapshot(store) == before and claims(store) == held
    r = a.post(path, json=body, headers={"X-CSRF-Token": token})
    assert r.status_code in (200, 201), r.text  # the right header passes


# -- login throttling ------------------------------------------------------------------------
def _try_login(app, name: str, password: str, address: str = "203.0.113.7") -> str:
    c = TestClient(app, follow_redirects=False, raise_server_exceptions=False, client=(address, 40000))
    token = csrf_of(c.get("/login").text)  # a fresh client (new login cookie) every time: not per client
    r = c.post("/login", data={"username": name, "password": password, "csrf": token})
    assert r.status_code == 303
    return r.headers["location"]


def test_login_throttle_is_per_name_and_checks_no_password_while_waiting(app, store, monkeypatch):
    calls = []
    real = store.authenticate
    monkeypatch.setattr(store, "authenticate", lambda n, p: calls.append(n) or real(n, p))
    for i in range(5):  # the free failures, each from another address
        assert _try_login(app, "bob", f"guess-{i}", f"198.51.100.{i}") == "/login?error=1"
    checked = len(calls)
    for i in range(20):  # from more addresses: bob's name waits (a second), the password is not even checked
        assert _try_login(app, "bob", "bob-password" if i % 2 else f"more-{i}", f"192.0.2.{i}").startswith(
            "/login?error=2&wait=")
    assert len(calls) == checked, "passwords are checked while the name must wait"
    # variants of the name are other names: none gets into bob's account
    for variant in ("bob ", " bob", "BOB", "Bob", "bob\x00", "bob\u200b", "bob%", "bo_"):
        assert _try_login(app, variant, "bob-password") in ("/login?error=1",) or \
            _try_login(app, variant, "bob-password").startswith("/login?error=2")
    assert _try_login(app, "alice", "alice-password", "198.51.100.99") == "/"  # other names are not affected


# -- moderators and admins ------------------------------------------------------------------------
def _bearer(store, name):
    return {"Authorization": f"Bearer {store.new_token(name)}"}


def test_moderator_cannot_take_anothers_claims(app, store):
    a, _ = login(app, "alice")
    mine = ids_on(a.get("/").text)
    alice = store.moderator("alice")["id"]
    assert len(mine) == 20 and all(claims(store)[i] == alice for i in mine)
    b, tb = login(app, "bob")
    auth = _bearer(store, "bob")
    seen = ids_on(b.get("/").text) + ids_on(b.get("/?sort=uncertainty").text)
    seen += [i["id"] for i in client(app).post("/api/claims", json={"limit": 500}, headers=auth).json()["items"]]
    assert seen and not set(seen) & set(mine)
    b.post("/logout", data={"csrf": tb})
    assert all(claims(store).get(i) == alice for i in mine)  # bob's logout released only bob's claims
    # the API does not say who holds a claim
    for item in client(app).get("/api/queue?limit=500", headers=auth).json()["items"]:
        assert "claimed_by" not in item


def test_moderator_cannot_decide_anothers_claims(app, store):
    a, _ = login(app, "alice")
    mine = ids_on(a.get("/").text)
    b, tb = login(app, "bob")
    auth = _bearer(store, "bob")
    before = snapshot(store)
    r = client(app).post("/api/decisions", headers=auth, json={"comment_id": mine[0], "action": "keep"})
    assert r.status_code == 409
    r = b.post("/bulk", data={"ids": mine[:5], "action": "keep", "csrf": tb})
    assert r.headers["location"] == "/?notice=bulk-partial"
    r = b.post("/decide", data={"comment_id": mine[1], "action": "remove", "csrf": tb})
    assert r.headers["location"] == "/?notice=conflict"
    assert snapshot(store) == before


def test_moderator_cannot_undo_or_read_anothers_decisions(app, store):
    a, ta = login(app, "alice")
    cid = ids_on(a.get("/").text)[0]
    a.post("/decide", data={"comment_id": cid, "action": "remove", "reason_code": "harassment", "csrf": ta})
    alices = store.history(moderator="alice")[0]["id"]
    b, tb = login(app, "bob")
    auth = _bearer(store, "bob")
    assert b.post("/undo", data={"csrf": tb}).headers["location"] == "/?notice=nothing"
    assert b.post("/undo", data={"csrf": tb, "decision_id": str(alices)}).status_code == 403
    assert client(app).post("/api/undo", headers=auth).json() == {"undone": None}
    r = client(app).post("/api/undo", headers=auth, json={"decision_id": alices})
    assert r.status_code == 403 and r.json() == {"error": "only an admin undoes another moderator's decision"}
    assert store.comment(cid)["status"] == "removed"
    # reading: bob sees none of alice's decisions, by comment, by name, on the comment page
    assert client(app).get(f"/api/decisions?comment_id={quote(cid)}", headers=auth).json() == {"items": []}
    assert client(app).get("/api/decisions", headers=auth).json() == {"items": []}
    assert client(app).get("/api/decisions?moderator=alice", headers=auth).status_code == 403
    assert b.get("/history?moderator=alice").status_code == 403
    assert "alice" not in b.get("/history").text.split("</header>", 1)[1]
    page = b.get(f"/comments/{quote(cid)}").text
    assert "No decisions yet." in page and ">alice<" not in page
    # and bob cannot decide it again (only an admin overrides)
    r = client(app).post("/api/decisions", headers=auth, json={"comment_id": cid, "action": "keep"})
    assert r.status_code == 409 and store.comment(cid)["status"] == "removed"
    assert b.post("/decide", data={"comment_id": cid, "action": "keep", "csrf": tb}).headers["location"] \
        == "/?notice=conflict"


def test_moderator_cannot_act_as_admin(app, store):
    a, ta = login(app, "alice")
    cid, other = ids_on(a.get("/").text)[:2]
    a.post("/decide", data={"comment_id": cid, "action": "escalate", "csrf": ta})
    a.post("/decide", data={"comment_id": other, "action": "keep", "csrf": ta})
    b, tb = login(app, "bob")
    auth = _bearer(store, "bob")
    before = snapshot(store)
    # the escalated view, in every form
    assert cid not in ids_on(b.get("/?status=escalated").text)
    assert "Escalated</a>" not in b.get("/").text and "pending ·" not in b.get("/").text  # no admin nav, no stats
    assert client(app).get("/api/queue?status=escalated", headers=auth).status_code == 403
    assert b.get("/api/queue?status=escalated").status_code == 403
    assert client(app).post("/api/claims", json={"status": "escalated"}, headers=auth).status_code == 403
    assert b.post("/api/claims", json={"status": "escalated"}, headers={"X-CSRF-Token": tb}).status_code == 403
    # deciding an escalated comment or overriding a decision; extra fields claiming to be an admin are ignored
    for target in (cid, other):
        body = {"comment_id": target, "action": "remove", "moderator": "root", "moderator_id": 3,
                "is_admin": True, "admin": "1"}
        assert client(app).post("/api/decisions", headers=auth, json=body).status_code == 409
        assert b.post("/decide", data={**body, "csrf": tb}).headers["location"] == "/?notice=conflict"
        r = b.post("/bulk", data={"ids": [target], "action": "keep", "csrf": tb, "is_admin": "1"})
        assert r.headers["location"] == "/?notice=bulk-partial"
    # everyone's history
    assert b.get("/history?moderator=root").status_code == 403
    assert client(app).get("/api/decisions?moderator=root", headers=auth).status_code == 403
    assert snapshot(store) == before
    assert store.comment(cid)["status"] == "escalated" and store.comment(other)["status"] == "kept"
    # the admin can do all of it
    root, tr = login(app, "root")
    assert ids_on(root.get("/?status=escalated").text) == [cid]
    root.post("/decide", data={"comment_id": other, "action": "remove", "csrf": tr})
    assert store.comment(other)["status"] == "removed"


def test_a_token_acts_only_as_its_owner(app, store):
    auth = _bearer(store, "bob")
    items = client(app).post("/api/claims", json={"limit": 1}, headers=auth).json()["items"]
    r = client(app).post("/api/decisions", headers=auth, json={"comment_id": items[0]["id"], "action": "keep",
                                                               "moderator": "alice"})
    assert r.status_code == 201
    assert [d["moderator"] for d in store.history()] == ["bob"]
    old = auth
    _bearer(store, "bob")  # a new token replaces the old one
    assert client(app).get("/api/queue", headers=old).status_code == 401


# -- hostile comments render inert ----------------------------------------------------------------
ALLOWED_TAGS = {"html", "head", "meta", "title", "link", "script", "body", "header", "strong", "nav", "a", "button",
                "form", "input", "span", "main", "h1", "h2", "p", "label", "select", "option", "div", "article",
                "mark", "aside", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th", "td", "details", "summary",
                "time", "textarea", "q", "small", "pre", "code"}


class Audit(HTMLParser):
    """Every element and attribute of a page, and the text of each comment (``p.text``)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.texts: list[str] = []
        self.options: list[str] = []
        self._depth = 0
        self._buf: list[str] = []
        self._in_option = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"element <{tag}>")
        for k, v in attrs:
            if k.startswith("on") or k in ("style", "srcdoc", "formaction", "background", "http-equiv"):
                self.problems.append(f"attribute {k}={v!r} on <{tag}>")
            external = (tag == "a" and k == "href" and a.get("class") == "article-url" and v is not None
                        and re.match(r"https?://[^\s\"'<>]+$", v) and a.get("rel") == "noopener noreferrer nofollow")
            if k in ("href", "src", "action") and v is not None and not v.startswith("/") and not external:
                self.problems.append(f"{k}={v!r} on <{tag}>")
            if k in ("href", "src", "action") and v and v.startswith("//"):
                self.problems.append(f"off-site {k}={v!r}")
        if tag == "script" and a.get("src") != "/static/queue.js":
            self.problems.append(f"script {a}")
        if tag == "link" and a.get("href") != "/static/queue.css":
            self.problems.append(f"link {a}")
        if tag == "meta" and set(a) - {"charset", "name", "content"}:
            self.problems.append(f"meta {a}")
        if self._depth:
            self._depth += tag == "p"
        elif tag == "p" and a.get("class") == "text":
            self._depth, self._buf = 1, []
        self._in_option = tag == "option"

    def handle_endtag(self, tag):
        if self._depth and tag == "p":
            self._depth -= 1
            if not self._depth:
                self.texts.append("".join(self._buf))
        if tag == "option":
            self._in_option = False

    def handle_data(self, data):
        if self._depth:
            self._buf.append(data)
        if self._in_option:
            self.options.append(data)


def audit(html: str) -> Audit:
    a = Audit()
    a.feed(html)
    a.close()
    assert not a.problems, a.problems
    assert html.count("<script") == 1  # the static queue.js only
    assert "<style" not in html.lower()
    return a


def test_hostile_content_is_inert_on_every_page(app, hostile_store, small_model):
    store = hostile_store
    h, th = login(app, HOSTILE_NAME)
    for cid in ids_on(h.get("/").text)[:4]:  # the hostile moderator decides: their name shows in histories
        h.post("/decide", data={"comment_id": cid, "action": "escalate", "reason_code": "harassment",
                                "note": PAYLOADS[0], "csrf": th})
    root, tr = login(app, "root")
    alice, _ = login(app, "alice")
    expected_texts = {f"you idiot {p} stupid moron" for p in PAYLOADS} | {f"id payload {i}" for i in range(6)}
    pages = {
        "root /": root.get("/"),
        "root escalated": root.get("/?status=escalated"),
        "root history": root.get("/history"),
        "root history by hostile": root.get("/history?moderator=" + quote(HOSTILE_NAME)),
        "hostile history": h.get("/history"),
        "alice /": alice.get("/"),
        "root filtered by a payload source": root.get("/?source=" + quote(PAYLOADS[0])),
        "root filtered by a payload category": root.get("/?category=" + quote(PAYLOADS[1]) + "&sort="
                                                        + quote(PAYLOADS[2])),
        "unknown payload comment": root.get("/comments/" + quote(PAYLOADS[0] + "nope", safe="")),
        "error page with payload action": root.post("/decide", data={"comment_id": "p0", "action": PAYLOADS[0],
                                                                     "csrf": tr}),
        "error page with payload reason code": root.post("/decide", data={"comment_id": "p0", "action": "keep",
                                                                          "reason_code": PAYLOADS[1], "csrf": tr}),
        "error page with payload bulk author": root.post("/authors/remove-pending", data={"author": PAYLOADS[2] + "?",
                                                                                          "csrf": tr}),
        "login with payload error": client(app).get("/login?error=" + quote(PAYLOADS[0])),
    }
    for i, p in enumerate(PAYLOADS):
        pages[f"comment p{i}"] = root.get(f"/comments/p{i}")
        pages[f"author {i}"] = root.get("/authors/" + quote(p, safe=""))
        pages[f"article {i}"] = root.get("/articles/" + quote(p, safe=""))
        pages[f"queue of article {i}"] = root.get("/?article=" + quote(p, safe=""))
    for p in PAYLOADS[:6]:
        pages[f"comment id {p}"] = root.get("/comments/" + quote(p, safe=""))
    texts_seen: set[str] = set()
    for name, r in pages.items():
        assert r.status_code in (200, 400, 403, 404), (name, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), name
        assert "'unsafe-inline'" not in r.headers["content-security-policy"]
        a = audit(r.text)
        texts_seen.update(a.texts)
    # every hostile text came through whole, as text (the parser unescaped exactly what we stored)
    assert expected_texts <= texts_seen
    # payload sources show as text in the filter's options, payload ids as text in the pages
    assert set(PAYLOADS) <= set(Audit_options(pages["root /"].text))
    assert "you idiot {{ 7*7 }}{% raw %} stupid moron" in texts_seen  # not evaluated as a template
    for i in range(len(PAYLOADS)):  # the context pages found their rows
        assert pages[f"author {i}"].status_code == pages[f"article {i}"].status_code == 200
    # only http(s) article URLs became links, as the text the dump gave
    links = {u for r in pages.values() for u in re.findall(r'<a class="article-url" href="([^"]*)"', r.text)}
    assert links == {"https://example.org/javascript:alert(1)"}  # the others hold spaces, quotes or brackets


def Audit_options(html: str) -> list[str]:  # noqa: N802
    a = Audit()
    a.feed(html)
    return a.options


def test_hostile_content_is_plain_json_from_the_api(app, hostile_store):
    store = hostile_store
    auth = _bearer(store, "root")
    c = client(app)
    stored = {x["id"]: x for x in store.list_queue(limit=500)}
    for url in ("/api/queue?limit=500", "/api/queue?limit=500&sort=uncertainty",
                "/api/queue?limit=500&source=" + quote(PAYLOADS[3])):
        r = c.get(url, headers=auth)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.headers["x-content-type-options"] == "nosniff"
        items = r.json()["items"]
        assert items
        for item in items:
            s = stored[item["id"]]
            for key in ("text", "source", "reasons", "article_id"):
                assert item[key] == s[key] and (item[key] is None or isinstance(item[key], str))
    ids = {x for x in stored if x.startswith("p")}
    c.post("/api/claims", json={"limit": 500}, headers=auth)
    for cid in sorted(ids)[:3]:
        assert c.post("/api/decisions", headers=auth, json={"comment_id": cid, "action": "keep"}).status_code == 201
    rows = c.get("/api/decisions", headers=auth).json()["items"]
    assert {r["text"] for r in rows} <= {s["text"] for s in stored.values()} and len(rows) == 3
    for p in PAYLOADS:
        text = f"you idiot {p} stupid moron"
        r = c.post("/api/score", headers=auth, json={"text": text})
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        for span in r.json()["spans"]:
            assert text[span["start"]:span["end"]] == span["fragment"]


# -- SQL injection ------------------------------------------------------------------------------
def _requests(inj: str, cid: str) -> list[tuple[str, str, dict]]:
    """(method, url, options) putting ``inj`` in every parameter the app reads; ``cid`` is a real, claimed id."""
    q = quote(inj, safe="")
    out = [("GET", f"/?{k}={q}", {}) for k in ("sort", "status", "category", "source", "article", "n", "notice", "d",
                                               "q", "search")]
    out += [("GET", f"/history?moderator={q}", {}), ("GET", f"/comments/{q}", {}), ("GET", f"/login?error={q}", {}),
            ("GET", f"/login?error=2&wait={q}", {}), ("GET", f"/authors/{q}", {}), ("GET", f"/articles/{q}", {}),
            ("GET", f"/?notice=decided&d={q}", {})]
    out += [("POST", "/decide", {"data": {"comment_id": inj, "action": "remove"}}),
            ("POST", "/decide", {"data": {"comment_id": cid, "action": inj}}),
            ("POST", "/decide", {"data": {"comment_id": cid, "action": "remove", "reason_code": inj}}),
            ("POST", "/decide", {"data": {"comment_id": inj, "action": "escalate", "note": inj}}),
            ("POST", "/authors/remove-pending", {"data": {"author": inj, "reason_code": "spam"}}),
            ("POST", "/undo", {"data": {"decision_id": inj}}),
            ("POST", "/bulk", {"data": {"ids": [inj, inj + "'"], "action": "keep"}}),
            ("POST", "/bulk", {"data": {"ids": [cid], "action": inj}}),
            ("POST", "/bulk", {"data": {"ids": [cid], "action": "remove", "reason_code": inj}}),
            ("POST", "/undo", {"data": {"next": inj}}),
            ("POST", "/undo", {"data": {"next": "/?source=" + inj}})]
    for k in ("sort", "status", "category", "source", "article", "author", "limit", "claim"):
        out.append(("GET", f"/api/queue?{k}={q}", {"api": True}))
    out.append(("POST", "/api/claims", {"api": True, "json": {"category": inj, "source": inj, "article": inj}}))
    out.append(("POST", "/api/claims", {"api": True, "json": {"sort": inj, "limit": inj}}))
    for k in ("moderator", "comment_id", "limit"):
        out.append(("GET", f"/api/decisions?{k}={q}", {"api": True}))
    out += [("POST", "/api/decisions", {"api": True, "json": {"comment_id": inj, "action": "remove"}}),
            ("POST", "/api/decisions", {"api": True, "json": {"comment_id": cid, "action": inj}}),
            ("POST", "/api/decisions", {"api": True, "json": {"comment_id": cid, "action": "remove",
                                                               "reason_code": inj}}),
            ("POST", "/api/decisions", {"api": True, "json": {"comment_id": [inj], "action": "keep",
                                                               "reason_code": [inj], "note": [inj]}}),
            ("POST", "/api/decisions", {"api": True, "json": {inj: inj}}),
            ("POST", "/api/score", {"api": True, "json": {"text": inj}}),
            ("POST", "/api/undo", {"api": True, "json": {"decision_id": inj}}),
            ("GET", "/api/queue", {"headers": {"Authorization": f"Bearer {inj}"}}),
            ("GET", "/api/queue", {"cookies": {"mq_session": inj}}),
            ("GET", "/", {"cookies": {"mq_session": inj + "." + inj}}),
            ("POST", "/api/score", {"json": {"text": "x"}, "session_api": True, "headers": {"X-CSRF-Token": inj}})]
    return out


@pytest.mark.parametrize("who", ["alice", "root"])
def test_sql_injection_changes_nothing(app, store, who):
    c, token = login(app, who)
    cid = ids_on(c.get("/").text)[0]
    auth = _bearer(store, who)
    before = snapshot(store)
    statuses = {}
    for inj in INJECTIONS:
        for method, url, opts in _requests(inj, cid):
            if opts.get("cookies") or (not opts.get("api") and "Authorization" in opts.get("headers", {})):
                sender = client(app)
                for k, v in opts.get("cookies", {}).items():
                    sender.cookies.set(k, v)
            else:
                sender = c
            headers = dict(opts.get("headers", {}))
            if opts.get("api"):
                sender, headers = client(app), {**auth, **headers}
            kwargs = {"headers": headers}
            if "data" in opts:
                kwargs["data"] = {**opts["data"], "csrf": token}
            if "json" in opts:
                kwargs["json"] = opts["json"]
            r = sender.request(method, url, **kwargs)
            statuses[(method, url, json.dumps(opts, default=str))] = r.status_code
            assert r.status_code < 500, (method, url, opts, r.status_code, r.text[:300])
            assert r.status_code in (200, 201, 303, 400, 401, 403, 404, 409, 422), (method, url, r.status_code)
        # logins with the injection as name and password (each a new name: no lockout in the way)
        fresh = client(app)
        t = csrf_of(fresh.get("/login").text)
        for name, pw in ((inj, inj), ("alice", inj), (inj, "alice-password"), ("alice' --", "x")):
            r = fresh.post("/login", data={"username": name, "password": pw, "csrf": t})
            assert r.status_code == 303 and re.fullmatch(r"/login\?error=(1|2&wait=\d+)", r.headers["location"])
            assert "mq_session" not in fresh.cookies
    assert snapshot(store) == before
    assert store.comment(cid)["status"] == "pending" and store.history() == []
    # the injections were read as plain values: filters on them match nothing
    assert ids_on(c.get("/?source=" + quote(INJECTIONS[0])).text) == []
    assert len(statuses) > 40 * len(INJECTIONS) // 2


def test_injection_strings_as_real_values_match_exactly(app, store, small_model):
    """Comments whose id and source are injection strings: only those exact rows are touched."""
    rows = [{"id": inj, "text": f"you idiot number {i}", "score": 0.9 - i / 100, "flag": True, "reasons": "",
             "source": inj} for i, inj in enumerate(INJECTIONS)]
    store.add_scored(pd.DataFrame(rows))
    root, tr = login(app, "root")
    before = snapshot(store)
    for inj in INJECTIONS:
        assert ids_on(root.get("/?source=" + quote(inj)).text) == [inj]
        r = root.get("/comments/" + quote(inj, safe=""))
        assert r.status_code == 200 and audit(r.text).texts == [f"you idiot number {INJECTIONS.index(inj)}"]
    target = INJECTIONS[0]
    r = root.post("/decide", data={"comment_id": target, "action": "remove", "csrf": tr})
    assert r.headers["location"] == f"/?notice=decided&d={store.history()[0]['id']}"
    after = snapshot(store)
    changed = set(after["comments"]) ^ set(before["comments"])
    assert {eval(row[0]) for row in changed} == {target}  # noqa: S307 (repr of a str id)
    assert len(after["decisions"]) == 1 and after["moderators"] == before["moderators"]
    assert [(d["comment_id"], d["action"]) for d in store.history()] == [(target, "remove")]
    assert all(store.comment(inj)["status"] == "pending" for inj in INJECTIONS[1:])


def test_malformed_bodies_are_4xx(app, store):
    """Bodies that used to be 500s: non-string reasons, absurd nesting, lone surrogates, bad encodings."""
    auth = _bearer(store, "alice")
    c = client(app)
    items = c.post("/api/claims", json={"limit": 1}, headers=auth).json()["items"]
    cid = items[0]["id"]
    before = snapshot(store)
    bodies = [
        json.dumps({"comment_id": cid, "action": "remove", "reason_code": ["harassment"]}).encode(),
        json.dumps({"comment_id": cid, "action": "remove", "reason_code": {"a": 1}}).encode(),
        json.dumps({"comment_id": cid, "action": "escalate", "note": "x" * 2001}).encode(),
        json.dumps({"comment_id": {"x": 1}, "action": ["remove"]}).encode(),
        b"[" * 100_000 + b"]" * 100_000,
        b'{"comment_id": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"comment_id": "\\ud800", "action": "remove"}',
        b'{"comment_id": "l001\\udfff", "action": "remove", "reason_code": "\\ud800"}',
        b'{"comment_id": "\xff\xfe", "action": "remove"}',
        b"\xff\xfe{}", b"", b"null", b"1e999999", b'"x"', b"{" * 10,
    ]
    for body in bodies:
        for path in ("/api/decisions", "/api/score"):
            r = c.post(path, headers={**auth, "content-type": "application/json"}, content=body)
            assert 400 <= r.status_code < 500, (path, body[:60], r.status_code, r.text[:200])
    assert snapshot(store) == before
    # a comment with lone surrogates is scored (they become U+FFFD), and its spans quote the text
    for text in ("you idiot \ud800 moron", "idi\ud800ot", "\udfff" * 50):
        raw = json.dumps({"text": text}).encode()  # json.dumps escapes the surrogates as \\udXXX
        r = c.post("/api/score", headers={**auth, "content-type": "application/json"}, content=raw)
        assert r.status_code == 200, r.text
        shown = text.replace("\ud800", "\ufffd").replace("\udfff", "\ufffd")
        for span in r.json()["spans"]:
            assert shown[span["start"]:span["end"]] == span["fragment"]
    # form posts with undecodable or malformed bodies
    a, token = login(app, "alice")
    for content, ctype in ((b"\xff\xfe=\xff&csrf=" + token.encode(), "application/x-www-form-urlencoded"),
                           (b"--x\r\n", "multipart/form-data; boundary=x"),
                           (b"comment_id=" + b"a" * 100_000 + b"&action=remove&csrf=" + token.encode(),
                            "application/x-www-form-urlencoded")):
        r = a.post("/decide", content=content, headers={"content-type": ctype})
        assert r.status_code < 500, (content[:40], r.status_code)
    assert snapshot(store) == before


# -- the same on PostgreSQL (NUL characters: PostgreSQL refuses them in text, which was a 500) ---------
NULS = ["\x00", "l001\x00", "\x00' OR 1=1 --"]


@pytest.fixture
def pg_app(small_model):
    url = fresh_postgres_url()
    s = open_store(url)
    for name in ("alice", "root"):
        s.add_moderator(name, PASSWORDS[name], is_admin=name == "root")
    s.add_scored(scored_frame(small_model).head(30), all_rows=True)
    yield create_app(s, model=small_model, secret=SECRET), s
    s.close()


@pytest.mark.parametrize("who", ["alice", "root"])
@pytest.mark.postgres
def test_postgres_injection_and_nul_change_nothing(pg_app, who):
    app, store = pg_app
    assert store.engine.dialect.name == "postgresql"
    c, token = login(app, who)
    cid = ids_on(c.get("/").text)[0]
    auth = _bearer(store, who)
    before = snapshot(store)
    for inj in INJECTIONS[:4] + NULS:
        for method, url, opts in _requests(inj, cid):
            headers = dict(opts.get("headers", {}))
            sender = c
            if opts.get("api"):
                sender, headers = client(app), {**auth, **headers}
            elif opts.get("cookies") or "Authorization" in headers:
                sender = client(app)
                for k, v in opts.get("cookies", {}).items():
                    sender.cookies.set(k, v)
            kwargs = {"headers": {k: v.encode("latin-1", "replace") if isinstance(v, str) else v
                                  for k, v in headers.items()}}
            if "data" in opts:
                kwargs["data"] = {**opts["data"], "csrf": token}
            if "json" in opts:
                kwargs["json"] = opts["json"]
            try:
                r = sender.request(method, url, **kwargs)
            except Exception:  # noqa: BLE001  (httpx refuses a NUL in a header or cookie: nothing was sent)
                continue
            assert r.status_code < 500, (method, url, opts, r.status_code, r.text[:300])
        fresh = client(app)
        t = csrf_of(fresh.get("/login").text)
        r = fresh.post("/login", data={"username": inj, "password": inj, "csrf": t})
        assert r.status_code in (303, 400) and "mq_session" not in fresh.cookies
    assert snapshot(store) == before
    assert store.history() == []
