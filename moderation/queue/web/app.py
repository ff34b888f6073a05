"""The review web app: the routers, the security headers, and one place where errors become responses.

``create_app(db_url, model=None, secret=None, trusted=None, api_only=False)``
builds a FastAPI app over a ``Store``: the review pages (``pages``), the JSON API
(``api``), the Perspective API (``perspective``) and ``/healthz``; with
``api_only``, only the scoring endpoints, the discovery document and
``/healthz``. Request bodies are limited in size (``limits``) before they are
read whole. Routes that touch the database or hash passwords are plain
functions, which FastAPI runs in its thread pool, so they never stall the event
loop. Behind a trusted proxy the scheme and client address come from its headers
(``proxy``); over HTTPS the app sends HSTS.
The only JavaScript is ``static/queue.js`` (keyboard shortcuts), so the
Content-Security-Policy allows no inline script at all. Comments are hostile
input: they are only ever inserted escaped, highlighted spans included.

Routes raise; the exception handlers here answer, as JSON under ``/api/`` and as
a page (or a redirect) elsewhere: ``LoginRequired`` → 401 or the login page,
``Forbidden`` and ``NotAllowed`` → 403, ``NotFound`` → 404, ``ClaimConflict`` → 409 or back to the
form's page with a notice, ``ModerationError`` → 400, a value the database
refuses → 400, a body over the size limit → 413. On the Perspective API's paths
every error is in Google's shape (``{"error": {"code", "message", "status", "details"}}``).
"""

from __future__ import annotations

import datetime as _dt
import gc
import os
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from ...categories import CATEGORY_LABELS, CATEGORY_REASON_CODE, REASON_CODES
from ...errors import ModerationError
from ...perspective import Perspective, PerspectiveError
from ..store import ACTIONS, ClaimConflict, NotAllowed, Store, open_store
from . import api, pages, perspective
from .auth import Forbidden, LoginRequired, NotFound, Signer
from .limits import MAX_BATCH_BODY, MAX_BODY, BodyLimit, BodyTooLarge
from .proxy import ProxyHeaders, trusted_proxies

__all__ = ["create_app", "highlight", "http_url", "when"]

HERE = Path(__file__).parent
HSTS = "max-age=31536000"  # a year; sent only over HTTPS
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


def http_url(value) -> str | None:
    """``value`` if it is an absolute http(s) URL safe to link to, else None (shown as text, never a link)."""
    if not isinstance(value, str) or len(value) > 2000 or any(c.isspace() or ord(c) < 32 or c in "\"'<>\\"
                                                              for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def when(value: str | None) -> str:
    """An ISO time as "30 Nov 2026, 09:11 UTC" (empty for none)."""
    if not value:
        return ""
    t = _dt.datetime.fromisoformat(value).astimezone(_dt.timezone.utc)
    return f"{t.day} {t:%b %Y, %H:%M} UTC"


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_page(request: Request, status: int, message: str):
    return pages.render(request, "error.html", {"user": None, "message": message}, status)


def _google_error(request: Request, exc: PerspectiveError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.code == 401 else None
    return perspective.GoogleJSON(exc.body(), exc.code, pretty=perspective.pretty(request), headers=headers)


def _too_large(path: str, limit: int):
    """The answer to a body over the limit: in Google's shape on the Perspective paths."""
    if path.endswith("comments:batchAnalyze"):
        error = PerspectiveError(f"Request body larger than {limit} bytes: send fewer comments per batch.", code=413)
        return perspective.GoogleJSON(error.body(), 413)
    if perspective.is_perspective_path(path):
        return perspective.GoogleJSON(PerspectiveError.too_long(limit).body(), 400)
    if path.startswith("/api/"):
        return JSONResponse({"error": f"request body larger than {limit} bytes"}, status_code=413)
    return HTMLResponse(f"<!doctype html><title>Too large</title><p>Request body larger than {limit} bytes.</p>",
                        status_code=413)


def _body_limit(path: str) -> int:
    return MAX_BATCH_BODY if path.endswith("comments:batchAnalyze") else MAX_BODY


_SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                     (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]


class SecurityHeaders:
    """ASGI middleware: the security headers on every response, ``Cache-Control: no-store`` outside ``/static/``,
    and HSTS over HTTPS.

    Plain ASGI rather than ``@app.middleware``: it only rewrites the response's
    start message, which costs a fraction of running each request in a task.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = _SECURITY_HEADERS + ([] if scope["path"].startswith("/static/") else [(b"cache-control", b"no-store")])
        if scope.get("scheme") == "https":  # as the trusted proxy saw it (ProxyHeaders runs first)
            extra = extra + [(b"strict-transport-security", HSTS.encode())]
        names = {name for name, _ in extra}

        async def with_headers(message):
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        return await self.app(scope, receive, with_headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PerspectiveError)
    def perspective_error(request: Request, exc: PerspectiveError):
        return _google_error(request, exc)

    @app.exception_handler(BodyTooLarge)
    def body_too_large(request: Request, exc: BodyTooLarge):
        return _too_large(exc.path, exc.limit)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if perspective.is_perspective_path(request.url.path):
            status = {404: "NOT_FOUND", 405: "INVALID_ARGUMENT"}.get(exc.status_code, "INVALID_ARGUMENT")
            return _google_error(request, PerspectiveError(str(exc.detail), code=exc.status_code, status=status,
                                                           error_type=None))
        return await http_exception_handler(request, exc)

    @app.exception_handler(LoginRequired)
    def login_required(request: Request, exc: LoginRequired):
        if _is_api(request):
            return JSONResponse({"error": "authentication required"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, exc: Forbidden):
        status = 404 if isinstance(exc, NotFound) else 403
        if _is_api(request):
            return JSONResponse({"error": exc.message}, status_code=status)
        return _error_page(request, status, exc.message)

    @app.exception_handler(NotAllowed)
    def not_allowed(request: Request, exc: NotAllowed):
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=403)
        return _error_page(request, 403, str(exc))

    @app.exception_handler(ClaimConflict)
    def conflict(request: Request, exc: ClaimConflict):
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=409)
        return pages.redirect_next(getattr(request.state, "form", None), "conflict")

    @app.exception_handler(ModerationError)
    def bad_request(request: Request, exc: ModerationError):
        if perspective.is_perspective_path(request.url.path):
            return _google_error(request, PerspectiveError(str(exc)))
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, status_code=400)
        return _error_page(request, 400, str(exc))

    @app.exception_handler(DataError)
    def refused_value(request: Request, exc: DataError):
        # values the database refuses (PostgreSQL: a NUL character in a text parameter) are the request's fault
        if perspective.is_perspective_path(request.url.path):
            return _google_error(request, PerspectiveError("The database refused a value in the request."))
        if _is_api(request):
            return JSONResponse({"error": "the database refused a value in the request"}, status_code=400)
        return _error_page(request, 400, "The request contains characters that cannot be stored.")


def create_app(db_url: str | Store | None = None, model=None, secret: str | None = None, *,
               trusted: str | None = None, api_only: bool = False) -> FastAPI:
    """The review app over the queue database ``db_url`` (or an open ``Store``).

    ``model`` serves ``POST /api/score`` and the Perspective API; without one those
    routes answer 503. ``secret`` signs sessions: default ``$MODERATION_SECRET``,
    else random per process (everyone logs in again after a restart).
    ``trusted``: the proxies whose forwarding headers count
    (``proxy.trusted_proxies``). ``api_only``: only the scoring endpoints, the
    discovery document and ``/healthz`` (keys still live in the database);
    analyzed comments are then never added to the queue.
    """
    store = db_url if isinstance(db_url, Store) else open_store(db_url)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(reason_codes=REASON_CODES, actions=ACTIONS, category_labels=CATEGORY_LABELS,
                                 category_reason_code=CATEGORY_REASON_CODE)
    templates.env.filters["highlight"] = lambda c: highlight(c.get("text", ""), c.get("spans"))
    templates.env.filters["http_url"] = http_url
    templates.env.filters["when"] = when
    templates.env.filters["category"] = lambda c: CATEGORY_LABELS.get(c, c) if c else "no category"

    @asynccontextmanager
    async def lifespan(app):
        if model is not None:
            model.warm_up()
        # What exists once the app has started (the model, the libraries) is left out of garbage collection
        # while it serves: a full collection traversed all of it, a pause of its own in a request's latency.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()

    app = FastAPI(title="moderation review queue", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.store = store
    app.state.model = model
    app.state.templates = templates
    app.state.signer = Signer(secret or os.environ.get("MODERATION_SECRET") or secrets.token_hex(32))
    app.state.perspective = Perspective(model, store, keep_comments=not api_only) if model is not None else None
    if not api_only:
        app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(BodyLimit, limit_for=_body_limit, too_large=_too_large)
    app.add_middleware(perspective.MergeSlashes)
    app.add_middleware(SecurityHeaders)

    app.add_middleware(ProxyHeaders, trusted=trusted_proxies(trusted))  # outermost: runs before the headers
    _install_error_handlers(app)

    @app.get("/healthz")
    async def healthz():  # no I/O: answered on the event loop, not queued behind the thread pool's work
        return {"status": "ok"}

    routes = [*perspective.router.routes]
    if api_only:
        routes += [r for r in api.router.routes if r.path == "/api/score"]
    else:
        routes += [*pages.router.routes, *api.router.routes]
    # added route by route rather than with include_router, so that app.routes lists every route
    # (the security tests enumerate it to check each one refuses anonymous requests)
    app.router.routes.extend(routes)
    return app
