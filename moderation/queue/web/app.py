"""The review web app: the routers, the security headers, and one place where errors become responses.

``create_app(db_url, model=None, secret=None)`` builds a FastAPI app over a
``Store``: the review pages (``pages``), the JSON API (``api``) and ``/healthz``.
The only JavaScript is ``static/queue.js`` (keyboard shortcuts), so the
Content-Security-Policy allows no inline script at all. Comments are hostile
input: they are only ever inserted escaped, highlighted spans included.

Routes raise; the exception handlers here answer, as JSON under ``/api/`` and as
a page (or a redirect) elsewhere: ``LoginRequired`` → 401 or the login page,
``Forbidden`` → 403, ``ClaimConflict`` → 409 or back to the form's page with a
notice, ``ModerationError`` → 400, a value the database refuses → 400.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy.exc import DataError

from ...categories import REASON_CODES
from ...errors import ModerationError
from ..store import ACTIONS, ClaimConflict, Store, open_store
from . import api, pages
from .auth import Forbidden, LoginRequired, LoginThrottle, Signer

__all__ = ["create_app", "highlight"]

HERE = Path(__file__).parent
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


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


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_page(request: Request, status: int, message: str):
    return pages.render(request, "error.html", {"user": None, "message": message}, status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    def login_required(request: Request, exc: LoginRequired):
        if _is_api(request):
            return JSONResponse({"error": "authentication required"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, exc: Forbidden):
        if _is_api(request):
            return JSONResponse({"error": exc.message}, status_code=403)
        return _error_page(request, 403, exc.message)

    @app.exception_handler(ClaimConflict)
    def conflict(request: Request, exc: ClaimConflict):
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=409)
        return pages.redirect_next(getattr(request.state, "form", None), "conflict")

    @app.exception_handler(ModerationError)
    def bad_request(request: Request, exc: ModerationError):
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=400)
        return _error_page(request, 400, str(exc))

    @app.exception_handler(DataError)
    def refused_value(request: Request, exc: DataError):
        # values the database refuses (PostgreSQL: a NUL character in a text parameter) are the request's fault
        if _is_api(request):
            return JSONResponse({"error": "the database refused a value in the request"}, status_code=400)
        return _error_page(request, 400, "The request contains characters that cannot be stored.")


def create_app(db_url: str | Store | None = None, model=None, secret: str | None = None) -> FastAPI:
    """The review app over the queue database ``db_url`` (or an open ``Store``).

    ``model`` serves ``POST /api/score``; without one that route answers 503.
    ``secret`` signs sessions: default ``$MODERATION_SECRET``, else random per
    process (everyone logs in again after a restart).
    """
    store = db_url if isinstance(db_url, Store) else open_store(db_url)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(reasons=REASON_CODES, actions=ACTIONS)
    templates.env.filters["highlight"] = lambda c: highlight(c.get("text", ""), c.get("spans"))

    app = FastAPI(title="moderation review queue", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.model = model
    app.state.templates = templates
    app.state.signer = Signer(secret or os.environ.get("MODERATION_SECRET") or secrets.token_hex(32))
    app.state.throttle = LoginThrottle()
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

    _install_error_handlers(app)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    for router in (pages.router, api.router):
        # added route by route rather than with include_router, so that app.routes lists every route
        # (the security tests enumerate it to check each one refuses anonymous requests)
        app.router.routes.extend(router.routes)
    return app
