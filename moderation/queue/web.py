"""The review web app: log in, review the queue with the keyboard, see history; a JSON API for machines.

``create_app(db_url, model=None, secret=None)`` builds a FastAPI app over a
``Store``. Pages are server-rendered with Jinja2 (autoescaped); the only
JavaScript is ``static/queue.js`` (keyboard shortcuts), so the
Content-Security-Policy allows no inline script at all. Comments are hostile
input: they are only ever inserted escaped, highlighted spans included.

Sessions live in the database (``Store.create_session``; only a hash of the
session id is stored) and the cookie carries the random session id, signed
(HMAC-SHA256 over moderator id, session id and expiry; HttpOnly,
SameSite=Lax). Every request looks the session up, so logging out (which
deletes it) kills every copy of the cookie, as does
``Store.revoke_sessions``. Every form POST carries a CSRF token derived from
the session id (the login form from a pre-session cookie). Machine clients use
``Authorization: Bearer <token>`` (``moderation users token NAME``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy.exc import DataError

from ..errors import ModerationError
from .store import ACTIONS, REASONS, SESSION_TTL, ClaimConflict, Store, open_store

__all__ = ["create_app", "highlight"]

HERE = Path(__file__).parent
SESSION_COOKIE = "mq_session"
LOGIN_COOKIE = "mq_login"
SESSION_SECONDS = SESSION_TTL  # 12 h from login
PAGE_SIZE = 20
MAX_FAILURES = 5  # failed logins per name within FAILURE_WINDOW before further tries are refused
FAILURE_WINDOW = 300
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
NOTICES = {
    "decided": "Decision saved.",
    "undone": "Your last decision was undone.",
    "nothing": "Nothing to undo.",
    "conflict": "Someone else is reviewing or has decided that comment.",
    "bulk": "Bulk action applied.",
    "bulk-partial": "Bulk action applied; some comments were held or decided by others and were skipped.",
    "none-selected": "Select comments first (s or the checkboxes).",
}


def highlight(text: str, spans: list[dict] | None) -> Markup:
    """``text`` as HTML with the spans wrapped in ``<mark>``: every segment escaped, bad spans ignored."""
    text = text or ""
    parts: list[Markup] = []
    pos = 0
    clean = []
    for s in spans or []:
        try:
            clean.append((int(s["start"]), int(s["end"])))
        except (KeyError, TypeError, ValueError):
            continue
    for start, end in sorted(clean):
        start, end = max(start, pos), min(end, len(text))
        if end <= start:
            continue
        parts.append(escape(text[pos:start]))
        parts.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        pos = end
    parts.append(escape(text[pos:]))
    return Markup("").join(parts)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


class _Signer:
    """Signed, expiring session cookies (carrying a server-side session's id) and the CSRF tokens tied to them."""

    def __init__(self, secret: str):
        self.key = hashlib.sha256(("moderation-queue:" + secret).encode()).digest()

    def _mac(self, message: str) -> str:
        return _b64(hmac.new(self.key, message.encode(), hashlib.sha256).digest())

    def session(self, moderator_id: int, session_id: str) -> str:
        body = _b64(json.dumps({"m": moderator_id, "n": session_id,
                                "e": int(time.time()) + SESSION_SECONDS}).encode())
        return f"{body}.{self._mac(body)}"

    def read(self, cookie: str | None) -> dict | None:
        if not cookie or "." not in cookie:
            return None
        body, mac = cookie.rsplit(".", 1)
        # bytes, not str: compare_digest raises TypeError on non-ASCII str (a hostile cookie)
        if not hmac.compare_digest(mac.encode("utf-8", "replace"), self._mac(body).encode()):
            return None
        try:
            data = json.loads(_unb64(body))
            if int(data["e"]) < time.time():
                return None
            return {"m": int(data["m"]), "n": str(data["n"])}
        except (ValueError, KeyError, TypeError):
            return None

    def csrf(self, nonce: str, purpose: str = "session") -> str:
        return self._mac(f"csrf:{purpose}:{nonce}")

    def check_csrf(self, token: str | None, nonce: str | None, purpose: str = "session") -> bool:
        return bool(token and nonce) and hmac.compare_digest(str(token).encode("utf-8", "replace"),
                                                             self.csrf(nonce, purpose).encode())


def _safe_next(value: str | None) -> str:
    """Only same-site paths: never ``//host`` or ``javascript:`` or a backslash trick."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def create_app(db_url: str | Store | None = None, model=None, secret: str | None = None) -> FastAPI:
    """The review app over the queue database ``db_url`` (or an open ``Store``).

    ``model`` serves ``POST /api/score``; without one that route answers 503.
    ``secret`` signs sessions: default ``$MODERATION_SECRET``, else random per
    process (everyone logs in again after a restart).
    """
    store = db_url if isinstance(db_url, Store) else open_store(db_url)
    signer = _Signer(secret or os.environ.get("MODERATION_SECRET") or secrets.token_hex(32))
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(reasons=REASONS, actions=ACTIONS)
    templates.env.filters["highlight"] = lambda c: highlight(c.get("text", ""), c.get("spans"))
    failures: dict[str, list[float]] = {}
    failures_lock = threading.Lock()

    app = FastAPI(title="moderation review queue", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.model = model
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(DataError)
    async def bad_data(request: Request, exc: DataError):
        # values the database refuses (PostgreSQL: a NUL character in a text parameter) are the request's fault
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "the database refused a value in the request"}, status_code=400)
        return _error_page(request, 400, "The request contains characters that cannot be stored.")

    # -- auth helpers ---------------------------------------------------------
    def session_user(request: Request) -> tuple[dict | None, str | None]:
        """The moderator and session id of a signed cookie whose session is live in the store."""
        data = signer.read(request.cookies.get(SESSION_COOKIE))
        if data is None:
            return None, None
        user = store.session_moderator(data["n"])
        if user is None or user["id"] != data["m"]:
            return None, None
        return user, data["n"]

    def bearer_user(request: Request) -> dict | None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return store.moderator_for_token(auth[7:].strip())
        return None

    def render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status)

    def page_user(request: Request):
        """The logged-in moderator and their CSRF token, or a redirect to the login page."""
        user, nonce = session_user(request)
        if user is None:
            return None, None, RedirectResponse("/login", status_code=303)
        return user, signer.csrf(nonce), None

    async def form_user(request: Request):
        """For a form POST: the moderator and the form, if the session and the CSRF token are good."""
        user, nonce = session_user(request)
        form = await request.form()
        if user is None:
            return None, form, RedirectResponse("/login", status_code=303)
        if not signer.check_csrf(form.get("csrf"), nonce):
            return None, form, _error_page(request, 403, "Missing or wrong CSRF token: reload the page.")
        return user, form, None

    def api_user(request: Request, unsafe: bool = False):
        """Bearer token, or a session (plus an X-CSRF-Token header for unsafe methods)."""
        user = bearer_user(request)
        if user is not None:
            return user, None
        user, nonce = session_user(request)
        if user is None:
            return None, JSONResponse({"error": "authentication required"}, status_code=401,
                                      headers={"WWW-Authenticate": "Bearer"})
        if unsafe and not signer.check_csrf(request.headers.get("x-csrf-token"), nonce):
            return None, JSONResponse({"error": "missing or wrong X-CSRF-Token header"}, status_code=403)
        return user, None

    def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
        return render(request, "error.html", {"user": None, "message": message}, status)

    # -- open routes ----------------------------------------------------------
    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, error: str | None = None):
        nonce = secrets.token_hex(16)
        response = render(request, "login.html", {"user": None, "csrf": signer.csrf(nonce, "login"),
                                                  "error": "Wrong name or password." if error == "1" else
                                                  "Too many failed attempts; wait a few minutes." if error == "2"
                                                  else None})
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
        return response

    @app.post("/login")
    async def login(request: Request):
        form = await request.form()
        if not signer.check_csrf(form.get("csrf"), request.cookies.get(LOGIN_COOKIE), "login"):
            return _error_page(request, 403, "Missing or wrong CSRF token: reload the login page.")
        name, password = str(form.get("username", "")), str(form.get("password", ""))
        now = time.time()
        with failures_lock:
            recent = [t for t in failures.get(name, []) if now - t < FAILURE_WINDOW]
            if recent:
                failures[name] = recent
            else:  # no entry for names without recent failures: attacker-chosen names must not pile up
                failures.pop(name, None)
        if len(recent) >= MAX_FAILURES:
            return RedirectResponse("/login?error=2", status_code=303)
        user = store.authenticate(name, password)
        if user is None:
            with failures_lock:
                failures.setdefault(name, []).append(now)
                if len(failures) > 10_000:  # forget names whose failures are all outside the window
                    for stale in [n for n, ts in failures.items() if now - ts[-1] >= FAILURE_WINDOW]:
                        del failures[stale]
            return RedirectResponse("/login?error=1", status_code=303)
        with failures_lock:
            failures.pop(name, None)
        session_id = store.create_session(user["id"], ttl=SESSION_SECONDS)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, signer.session(user["id"], session_id), max_age=SESSION_SECONDS,
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/logout")
    async def logout(request: Request):
        user, _, refused = await form_user(request)
        if refused:
            return refused
        # delete the session server-side, so a copy of the cookie is refused too (form_user checked the cookie)
        store.revoke_session(signer.read(request.cookies.get(SESSION_COOKIE))["n"])
        store.release(user["id"])
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # -- pages ----------------------------------------------------------------
    def _filters(request: Request, user: dict) -> dict:
        q = request.query_params
        sort = q.get("sort") if q.get("sort") in ("score", "uncertainty") else "score"
        status = "escalated" if q.get("status") == "escalated" and user["is_admin"] else "pending"
        return {"sort": sort, "status": status, "category": q.get("category") or None,
                "source": q.get("source") or None}

    @app.get("/", response_class=HTMLResponse)
    def queue_page(request: Request):
        user, csrf, refused = page_user(request)
        if refused:
            return refused
        f = _filters(request, user)
        items = store.claim_next(user["id"], limit=PAGE_SIZE, **f)
        query = {k: v for k, v in f.items() if v and not (k, v) in (("sort", "score"), ("status", "pending"))}
        notice = NOTICES.get(request.query_params.get("notice", ""))
        return render(request, "queue.html", {
            "user": user, "csrf": csrf, "items": items, "filters": f, "notice": notice,
            "next": "/" + ("?" + urlencode(query) if query else ""),
            "sources": store.sources(), "categories": store.categories(),
            "stats": store.stats() if user["is_admin"] else None})

    def _redirect_next(form, notice: str) -> RedirectResponse:
        target = _safe_next(str(form.get("next") or "/"))
        sep = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{sep}notice={notice}", status_code=303)

    @app.post("/decide")
    async def decide(request: Request):
        user, form, refused = await form_user(request)
        if refused:
            return refused
        try:
            store.decide(str(form.get("comment_id", "")), user["id"], str(form.get("action", "")),
                         str(form.get("reason") or "") or None)
        except ClaimConflict:
            return _redirect_next(form, "conflict")
        except ModerationError as e:
            return _error_page(request, 400, str(e))
        return _redirect_next(form, "decided")

    @app.post("/bulk")
    async def bulk(request: Request):
        user, form, refused = await form_user(request)
        if refused:
            return refused
        ids = [str(i) for i in form.getlist("ids")]
        if not ids:
            return _redirect_next(form, "none-selected")
        try:
            _, skipped = store.decide_many(ids, user["id"], str(form.get("action", "")),
                                           str(form.get("reason") or "") or None)
        except ModerationError as e:
            return _error_page(request, 400, str(e))
        return _redirect_next(form, "bulk-partial" if skipped else "bulk")

    @app.post("/undo")
    async def undo(request: Request):
        user, form, refused = await form_user(request)
        if refused:
            return refused
        try:
            done = store.undo_last(user["id"])
        except ClaimConflict:
            return _redirect_next(form, "conflict")
        return _redirect_next(form, "undone" if done else "nothing")

    @app.get("/comments/{comment_id:path}", response_class=HTMLResponse)
    def comment_page(request: Request, comment_id: str):
        user, csrf, refused = page_user(request)
        if refused:
            return refused
        comment = store.comment(comment_id)
        if comment is None:
            return render(request, "error.html", {"user": user, "csrf": csrf, "message": "No such comment."}, 404)
        return render(request, "comment.html", {
            "user": user, "csrf": csrf, "c": comment,
            "history": store.history(comment_id=comment_id, viewer=user["id"])})

    @app.get("/history", response_class=HTMLResponse)
    def history_page(request: Request, moderator: str | None = None):
        user, csrf, refused = page_user(request)
        if refused:
            return refused
        if not user["is_admin"]:
            if moderator not in (None, user["name"]):
                return render(request, "error.html", {"user": user, "csrf": csrf,
                                                      "message": "Only an admin sees other moderators' history."},
                              403)
            moderator = user["name"]
        return render(request, "history.html", {
            "user": user, "csrf": csrf, "moderator": moderator,
            "moderators": store.list_moderators() if user["is_admin"] else [],
            "rows": store.history(moderator=moderator, viewer=user["id"])})

    # -- JSON API -------------------------------------------------------------
    @app.get("/api/queue")
    def api_queue(request: Request, sort: str = "score", status: str = "pending", category: str | None = None,
                  source: str | None = None, limit: int = 50, claim: bool = False):
        user, refused = api_user(request)
        if refused:
            return refused
        if sort not in ("score", "uncertainty") or status not in ("pending", "escalated", "removed", "kept"):
            return JSONResponse({"error": "sort is score|uncertainty; status pending|escalated|removed|kept"},
                                status_code=400)
        if status == "escalated" and not user["is_admin"]:
            return JSONResponse({"error": "only an admin reviews escalated comments"}, status_code=403)
        limit = max(1, min(limit, 500))
        if claim:
            items = store.claim_next(user["id"], limit=limit, sort=sort, status=status, category=category,
                                     source=source)
        else:
            items = store.list_queue(status=status, sort=sort, category=category, source=source, limit=limit)
        return {"items": [_public(c) for c in items]}

    @app.get("/api/decisions")
    def api_decisions(request: Request, moderator: str | None = None, comment_id: str | None = None,
                      limit: int = 100):
        user, refused = api_user(request)
        if refused:
            return refused
        if moderator not in (None, user["name"]) and not user["is_admin"]:
            return JSONResponse({"error": "only an admin sees other moderators' decisions"}, status_code=403)
        rows = store.history(moderator=moderator, comment_id=comment_id, viewer=user["id"],
                             limit=max(1, min(limit, 1000)))
        return {"items": rows}

    async def _json(request: Request) -> dict | None:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly nested JSON
            return None
        if not isinstance(body, dict):
            return None
        # JSON may escape lone surrogates ("\\ud800"): they cannot be stored or encoded in a response,
        # so they become U+FFFD (one for one: offsets into the text stay the same)
        return {k: _SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for k, v in body.items()}

    @app.post("/api/decisions")
    async def api_decide(request: Request):
        user, refused = api_user(request, unsafe=True)
        if refused:
            return refused
        body = await _json(request)
        if body is None:
            return JSONResponse({"error": "send a JSON object"}, status_code=400)
        try:
            did = store.decide(str(body.get("comment_id", "")), user["id"], str(body.get("action", "")),
                               body.get("reason") or None)
        except ClaimConflict as e:
            return JSONResponse({"error": str(e)}, status_code=409)
        except ModerationError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        return JSONResponse({"id": did, "comment_id": str(body["comment_id"]), "action": body["action"]},
                            status_code=201)

    @app.post("/api/undo")
    def api_undo(request: Request):
        user, refused = api_user(request, unsafe=True)
        if refused:
            return refused
        try:
            done = store.undo_last(user["id"])
        except ClaimConflict as e:
            return JSONResponse({"error": str(e)}, status_code=409)
        return {"undone": done}

    @app.post("/api/score")
    async def api_score(request: Request):
        user, refused = api_user(request, unsafe=True)
        if refused:
            return refused
        body = await _json(request)
        if body is None or not isinstance(body.get("text"), str):
            return JSONResponse({"error": 'send {"text": "..."}'}, status_code=400)
        m = app.state.model
        if m is None:
            return JSONResponse({"error": "no model loaded (start the server with --model)"}, status_code=503)
        text = body["text"]
        table = m.score_table([text], categories=bool(m.categories), reasons=0)
        score = float(table["score"].iloc[0])
        categories = {name: round(float(table[name].iloc[0]), 6) for name in m.categories}
        return {"score": round(score, 6), "flag": score >= m.threshold, "threshold": m.threshold,
                "categories": categories,
                "spans": [{"start": s.start, "end": s.end, "fragment": s.fragment, "weight": s.weight}
                          for s in m.explain(text)],
                "model_version": _version(m)}

    return app


def _public(c: dict) -> dict:
    keys = ("id", "text", "source", "article_id", "thread_id", "score", "threshold", "categories", "top_category",
            "reasons", "spans", "model_version", "added_at", "status", "claim_expires")
    return {k: c.get(k) for k in keys}


def _version(model) -> str:
    try:
        return str(model.card["file"]["sha256"])[:12]
    except (AttributeError, KeyError, TypeError):
        return "unknown"
