"""Who is asking: signed session cookies, CSRF tokens, and the route dependencies built on them.

Sessions live in the database (``Store.create_session``; only a hash of the
session id is stored) and the cookie carries the random session id, signed
(HMAC-SHA256 over moderator id, session id and expiry; HttpOnly,
SameSite=Lax). Every request looks the session up, so logging out (which
deletes it) kills every copy of the cookie, as does ``Store.revoke_sessions``.
Every form POST carries a CSRF token derived from the session id (the login
form from a pre-session cookie). Machine clients use ``Authorization: Bearer
<token>`` (``moderation users token NAME``). Login throttling lives in the
store (``Accounts.login_wait``), so it holds across workers and restarts.

The dependencies (``page_user``, ``form_user``, ``api_user``, ``api_writer``)
raise ``LoginRequired`` or ``Forbidden``; the app's exception handlers turn them
into a redirect to the login page, an error page or a JSON error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ..accounts import SESSION_TTL

__all__ = ["Signer", "LoginRequired", "Forbidden", "NotFound", "Viewer", "page_user", "form_user", "api_user", "api_writer",
           "client_address", "SESSION_COOKIE", "LOGIN_COOKIE", "SESSION_SECONDS"]

SESSION_COOKIE = "mq_session"
LOGIN_COOKIE = "mq_login"
SESSION_SECONDS = SESSION_TTL  # 12 h from login


class LoginRequired(Exception):
    """No valid session or token: pages redirect to the login page, the API answers 401."""


class Forbidden(Exception):
    """Authenticated, but not allowed (a bad CSRF token, or a moderator asking for an admin's view)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(Forbidden):
    """No such comment, author or article: a 404 page."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


class Signer:
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


@dataclass
class Viewer:
    """The moderator behind a request, with the CSRF token their pages carry (None for a bearer token)."""

    user: dict
    csrf: str | None = None
    session_id: str | None = None


def _session(request: Request) -> tuple[dict | None, str | None]:
    """The moderator and session id of a signed cookie whose session is live in the store."""
    signer: Signer = request.app.state.signer
    data = signer.read(request.cookies.get(SESSION_COOKIE))
    if data is None:
        return None, None
    user = request.app.state.store.session_moderator(data["n"])
    if user is None or user["id"] != data["m"]:
        return None, None
    return user, data["n"]


def client_address(request: Request) -> str:
    """The client's address (the proxy's view of it behind a trusted proxy: ``proxy.ProxyHeaders``)."""
    return request.client.host if request.client else ""


def page_user(request: Request) -> Viewer:
    """For a page: the logged-in moderator and their CSRF token."""
    user, session_id = _session(request)
    if user is None:
        raise LoginRequired()
    return Viewer(user, request.app.state.signer.csrf(session_id), session_id)


async def form_user(request: Request) -> Viewer:
    """For a form POST: the moderator, if the session and the form's CSRF token are good.

    The parsed form is kept in ``request.state.form`` for the route (and for the
    error handlers, which send the moderator back to the form's ``next`` page).
    """
    form = await request.form()
    request.state.form = form
    user, session_id = await run_in_threadpool(_session, request)  # a database call: not on the event loop
    if user is None:
        raise LoginRequired()
    if not request.app.state.signer.check_csrf(form.get("csrf"), session_id):
        raise Forbidden("Missing or wrong CSRF token: reload the page.")
    return Viewer(user, form.get("csrf"), session_id)


def _bearer(request: Request) -> dict | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return request.app.state.store.moderator_for_token(auth[7:].strip())
    return None


def _api_viewer(request: Request, writes: bool) -> Viewer:
    user = _bearer(request)
    if user is not None:
        return Viewer(user)
    user, session_id = _session(request)
    if user is None:
        raise LoginRequired()
    if writes and not request.app.state.signer.check_csrf(request.headers.get("x-csrf-token"), session_id):
        raise Forbidden("missing or wrong X-CSRF-Token header")
    return Viewer(user, None, session_id)


def api_user(request: Request) -> Viewer:
    """For an API read: a bearer token or a session."""
    return _api_viewer(request, writes=False)


def api_writer(request: Request) -> Viewer:
    """For an API write: a bearer token, or a session plus an ``X-CSRF-Token`` header."""
    return _api_viewer(request, writes=True)
