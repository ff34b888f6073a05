"""The review pages: log in and out, the queue, decisions (one, bulk, undo), a comment, the history.

Pages are server-rendered with Jinja2 (autoescaped). Errors are not handled here:
the app's exception handlers turn them into redirects, error pages or notices.
Routes are plain functions (run in a thread pool), so hashing a password or
waiting for the database never stalls the event loop.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from .auth import LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECONDS, Forbidden, Viewer, form_user, page_user

__all__ = ["router", "render", "safe_next", "NOTICES", "PAGE_SIZE"]

PAGE_SIZE = 20
NOTICES = {
    "decided": "Decision saved.",
    "undone": "Your last decision was undone.",
    "nothing": "Nothing to undo.",
    "conflict": "Someone else is reviewing or has decided that comment.",
    "bulk": "Bulk action applied.",
    "bulk-partial": "Bulk action applied; some comments were held or decided by others and were skipped.",
    "none-selected": "Select comments first (s or the checkboxes).",
}

router = APIRouter()


def render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)


def safe_next(value: str | None) -> str:
    """Only same-site paths: never ``//host`` or ``javascript:`` or a backslash trick."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def redirect_next(form, notice: str) -> RedirectResponse:
    """Back to the page the form came from (its ``next`` field), with a notice."""
    target = safe_next(str(form.get("next") or "/") if form is not None else "/")
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}notice={notice}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, error: str | None = None):
    nonce = secrets.token_hex(16)
    response = render(request, "login.html", {"user": None, "csrf": request.app.state.signer.csrf(nonce, "login"),
                                              "error": "Wrong name or password." if error == "1" else
                                              "Too many failed attempts; wait a few minutes." if error == "2"
                                              else None})
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


async def _login_form(request: Request):
    form = await request.form()
    if not request.app.state.signer.check_csrf(form.get("csrf"), request.cookies.get(LOGIN_COOKIE), "login"):
        raise Forbidden("Missing or wrong CSRF token: reload the login page.")
    return form


@router.post("/login")
def login(request: Request, form=Depends(_login_form)):
    state = request.app.state
    name, password = str(form.get("username", "")), str(form.get("password", ""))
    if state.throttle.refused(name):
        return RedirectResponse("/login?error=2", status_code=303)
    user = state.store.authenticate(name, password)
    if user is None:
        state.throttle.failed(name)
        return RedirectResponse("/login?error=1", status_code=303)
    state.throttle.succeeded(name)
    session_id = state.store.create_session(user["id"], ttl=SESSION_SECONDS)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, state.signer.session(user["id"], session_id), max_age=SESSION_SECONDS,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, viewer: Viewer = Depends(form_user)):
    store = request.app.state.store
    # delete the session server-side, so a copy of the cookie is refused too
    store.revoke_session(viewer.session_id)
    store.release(viewer.user["id"])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _filters(request: Request, user: dict) -> dict:
    q = request.query_params
    sort = q.get("sort") if q.get("sort") in ("score", "uncertainty") else "score"
    status = "escalated" if q.get("status") == "escalated" and user["is_admin"] else "pending"
    return {"sort": sort, "status": status, "category": q.get("category") or None,
            "source": q.get("source") or None}


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, viewer: Viewer = Depends(page_user)):
    store, user = request.app.state.store, viewer.user
    f = _filters(request, user)
    items = store.claim_next(user["id"], limit=PAGE_SIZE, **f)
    query = {k: v for k, v in f.items() if v and not (k, v) in (("sort", "score"), ("status", "pending"))}
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return render(request, "queue.html", {
        "user": user, "csrf": viewer.csrf, "items": items, "filters": f, "notice": notice,
        "next": "/" + ("?" + urlencode(query) if query else ""),
        "sources": store.sources(), "categories": store.categories(),
        "stats": store.stats() if user["is_admin"] else None})


@router.post("/decide")
def decide(request: Request, viewer: Viewer = Depends(form_user)):
    form = request.state.form
    request.app.state.store.decide(str(form.get("comment_id", "")), viewer.user["id"], str(form.get("action", "")),
                                   str(form.get("reason") or "") or None)
    return redirect_next(form, "decided")


@router.post("/bulk")
def bulk(request: Request, viewer: Viewer = Depends(form_user)):
    form = request.state.form
    ids = [str(i) for i in form.getlist("ids")]
    if not ids:
        return redirect_next(form, "none-selected")
    _, skipped = request.app.state.store.decide_many(ids, viewer.user["id"], str(form.get("action", "")),
                                                     str(form.get("reason") or "") or None)
    return redirect_next(form, "bulk-partial" if skipped else "bulk")


@router.post("/undo")
def undo(request: Request, viewer: Viewer = Depends(form_user)):
    done = request.app.state.store.undo_last(viewer.user["id"])
    return redirect_next(request.state.form, "undone" if done else "nothing")


@router.get("/comments/{comment_id:path}", response_class=HTMLResponse)
def comment_page(request: Request, comment_id: str, viewer: Viewer = Depends(page_user)):
    store = request.app.state.store
    comment = store.comment(comment_id)
    if comment is None:
        return render(request, "error.html", {"user": viewer.user, "csrf": viewer.csrf,
                                              "message": "No such comment."}, 404)
    return render(request, "comment.html", {
        "user": viewer.user, "csrf": viewer.csrf, "c": comment,
        "history": store.history(comment_id=comment_id, viewer=viewer.user["id"])})


@router.get("/history", response_class=HTMLResponse)
def history_page(request: Request, moderator: str | None = None, viewer: Viewer = Depends(page_user)):
    store, user = request.app.state.store, viewer.user
    if not user["is_admin"]:
        if moderator not in (None, user["name"]):
            return render(request, "error.html", {"user": user, "csrf": viewer.csrf,
                                                  "message": "Only an admin sees other moderators' history."}, 403)
        moderator = user["name"]
    return render(request, "history.html", {
        "user": user, "csrf": viewer.csrf, "moderator": moderator,
        "moderators": store.list_moderators() if user["is_admin"] else [],
        "rows": store.history(moderator=moderator, viewer=user["id"])})
