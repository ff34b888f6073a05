"""The review pages: log in and out, the queue, decisions (one, bulk, undo), a comment, an author, an article,
the history.

Pages are server-rendered with Jinja2 (autoescaped). Errors are not handled here:
the app's exception handlers turn them into redirects, error pages or notices.
Routes are plain functions (run in a thread pool), so hashing a password or
waiting for the database never stalls the event loop.
"""

from __future__ import annotations

import math
import secrets
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from .auth import (LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECONDS, Forbidden, NotFound, Viewer, client_address,
                   form_user, page_user)

__all__ = ["router", "render", "safe_next", "NOTICES", "PAGE_SIZE", "MAX_SHOWN"]

PAGE_SIZE = 20  # comments a moderator claims and sees at first; "Load more" adds as many again
MAX_SHOWN = 200
LIST_SIZE = 50  # comments per page on an author's or an article's page
NOTICES = {
    "decided": "Decision saved.",
    "undone": "Undone.",
    "nothing": "Nothing to undo.",
    "conflict": "Someone else is reviewing or has decided that comment.",
    "bulk": "Bulk action applied.",
    "bulk-partial": "Bulk action applied; some comments were held or decided by others and were skipped.",
    "none-selected": "Select comments first (s or the checkboxes).",
}
PAST = {"remove": "Removed", "keep": "Kept", "escalate": "Escalated"}

router = APIRouter()


def render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)


def safe_next(value: str | None) -> str:
    """Only same-site paths: never ``//host`` or ``javascript:`` or a backslash trick."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def redirect_next(form, notice: str, decision: int | None = None) -> RedirectResponse:
    """Back to the page the form came from (its ``next`` field), with a notice (and the decision it is about)."""
    target = safe_next(str(form.get("next") or "/") if form is not None else "/")
    sep = "&" if "?" in target else "?"
    extra = f"&d={decision}" if decision else ""
    return RedirectResponse(f"{target}{sep}notice={notice}{extra}", status_code=303)


def _int(value, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def banner(request: Request, viewer: Viewer) -> dict | None:
    """What the last action did, for the page's banner: "Removed comment 4512 · Undo".

    From the ``notice`` and ``d`` (decision id) query parameters; a decision is
    described only to the moderator who made it.
    """
    q = request.query_params
    notice = q.get("notice", "")
    if notice not in NOTICES:
        return None
    out = {"text": NOTICES[notice], "undo": None}
    did = _int(q.get("d"))
    d = request.app.state.store.decision(did) if did else None
    if d is None or d["moderator_id"] != viewer.user["id"] or d["action"] == "undo":
        return out
    what = f"comment {d['comment_id']}" if d["count"] == 1 else f"{d['count']} comments"
    if notice == "undone":
        out["text"] = f"Undone: {PAST[d['action']].lower()} {what}."
    elif notice in ("decided", "bulk", "bulk-partial"):
        out["text"] = f"{PAST[d['action']]} {what}" + (" (others were held or decided by others)"
                                                       if notice == "bulk-partial" else "")
        out["undo"] = d["id"]
    return out


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, error: str | None = None, wait: str | None = None):
    nonce = secrets.token_hex(16)
    seconds = _int(wait, 1) or 1
    response = render(request, "login.html", {"user": None, "csrf": request.app.state.signer.csrf(nonce, "login"),
                                              "error": "Wrong name or password." if error == "1" else
                                              f"Too many failed attempts: try again in {max(1, seconds)} "
                                              f"second{'' if seconds == 1 else 's'}." if error == "2" else None})
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
    address = client_address(request)
    wait = state.store.login_wait(name, address)
    if wait > 0:
        return RedirectResponse(f"/login?error=2&wait={math.ceil(wait)}", status_code=303)
    user = state.store.authenticate(name, password)
    if user is None:
        state.store.login_failed(name, address)
        return RedirectResponse("/login?error=1", status_code=303)
    state.store.login_succeeded(name, address)
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
            "source": q.get("source") or None, "article": q.get("article") or None}


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, viewer: Viewer = Depends(page_user)):
    store, user = request.app.state.store, viewer.user
    f = _filters(request, user)
    shown = min(max(_int(request.query_params.get("n"), PAGE_SIZE), PAGE_SIZE), MAX_SHOWN)
    items = store.claim_next(user["id"], limit=shown, **f)
    query = {k: v for k, v in f.items() if v and not (k, v) in (("sort", "score"), ("status", "pending"))}
    here = {**query, **({"n": shown} if shown != PAGE_SIZE else {})}
    total = store.count(**{k: f[k] for k in ("status", "category", "source", "article")})
    return render(request, "queue.html", {
        "user": user, "csrf": viewer.csrf, "items": items, "filters": f, "banner": banner(request, viewer),
        "next": "/" + ("?" + urlencode(here) if here else ""),
        "more": "/?" + urlencode({**query, "n": shown + PAGE_SIZE}) if total > len(items) and shown < MAX_SHOWN
        else None,
        "total": total, "undoable": store.last_undoable(user["id"]),
        "article": store.article(f["article"]) if f["article"] else None,
        "sources": store.sources(), "categories": store.categories(), "pending": store.pending_by_category(),
        "stats": store.stats() if user["is_admin"] else None})


@router.post("/decide")
def decide(request: Request, viewer: Viewer = Depends(form_user)):
    form = request.state.form
    did = request.app.state.store.decide(str(form.get("comment_id", "")), viewer.user["id"],
                                         str(form.get("action", "")), str(form.get("reason_code") or "") or None,
                                         str(form.get("note") or "") or None)
    return redirect_next(form, "decided", did)


@router.post("/bulk")
def bulk(request: Request, viewer: Viewer = Depends(form_user)):
    form = request.state.form
    ids = [str(i) for i in form.getlist("ids")]
    if not ids:
        return redirect_next(form, "none-selected")
    done = request.app.state.store.decide_many(ids, viewer.user["id"], str(form.get("action", "")),
                                               str(form.get("reason_code") or "") or None,
                                               str(form.get("note") or "") or None)
    return redirect_next(form, "bulk-partial" if done.refused else "bulk", done.first_decision)


@router.post("/authors/remove-pending")
def remove_authors_pending(request: Request, viewer: Viewer = Depends(form_user)):
    form = request.state.form
    done = request.app.state.store.remove_pending_by_author(str(form.get("author", "")), viewer.user["id"],
                                                            str(form.get("reason_code") or "") or None,
                                                            str(form.get("note") or "") or None)
    return redirect_next(form, "bulk", done.first_decision)


@router.post("/undo")
def undo(request: Request, viewer: Viewer = Depends(form_user)):
    form = request.state.form
    did = _int(form.get("decision_id"))
    done = request.app.state.store.undo(did, viewer.user["id"]) if did is not None else None
    return redirect_next(form, "undone" if done else "nothing", did if done else None)


@router.get("/comments/{comment_id:path}", response_class=HTMLResponse)
def comment_page(request: Request, comment_id: str, viewer: Viewer = Depends(page_user)):
    store, user = request.app.state.store, viewer.user
    comment = store.comment(comment_id)
    if comment is None:
        raise NotFound("No such comment.")
    history = store.history(comment_id=comment_id, viewer=user["id"])
    standing = next((d for d in store.history(comment_id=comment_id)
                     if d["action"] != "undo" and not d["undone"]), None)
    mine = standing is not None and standing["moderator_id"] == user["id"]
    return render(request, "comment.html", {
        "user": user, "csrf": viewer.csrf, "c": comment, "history": history, "banner": banner(request, viewer),
        "next": "/comments/" + quote(comment_id, safe=""), "standing": standing if (mine or user["is_admin"]) else None,
        "may_decide": user["is_admin"] or comment["status"] == "pending" or mine})


@router.get("/authors/{author:path}", response_class=HTMLResponse)
def author_page(request: Request, author: str, viewer: Viewer = Depends(page_user)):
    store, user = request.app.state.store, viewer.user
    record = store.author(author)
    if record is None:
        raise NotFound("No comments by that author in the queue.")
    page = max(_int(request.query_params.get("page"), 1), 1)
    return render(request, "author.html", {
        "user": user, "csrf": viewer.csrf, "a": record, "banner": banner(request, viewer),
        "items": store.list_queue(status=None, author=author, sort="newest", limit=LIST_SIZE,
                                  offset=(page - 1) * LIST_SIZE),
        "page": page, "pages": max(1, math.ceil(record["total"] / LIST_SIZE)),
        "next": "/authors/" + quote(author, safe=""),
        "rows": store.history(author=author, viewer=user["id"], limit=100)})


@router.get("/articles/{article_id:path}", response_class=HTMLResponse)
def article_page(request: Request, article_id: str, viewer: Viewer = Depends(page_user)):
    store, user = request.app.state.store, viewer.user
    record = store.article(article_id)
    if record is None:
        raise NotFound("No comments on that article in the queue.")
    return render(request, "article.html", {
        "user": user, "csrf": viewer.csrf, "a": record,
        "pending": store.list_queue(status="pending", article=article_id, limit=LIST_SIZE),
        "decided": [c for s in ("escalated", "removed", "kept")
                    for c in store.list_queue(status=s, article=article_id, sort="newest", limit=LIST_SIZE)],
        "review": "/?" + urlencode({"article": article_id})})


@router.get("/history", response_class=HTMLResponse)
def history_page(request: Request, moderator: str | None = None, viewer: Viewer = Depends(page_user)):
    store, user = request.app.state.store, viewer.user
    if not user["is_admin"]:
        if moderator not in (None, user["name"]):
            raise Forbidden("Only an admin sees other moderators' history.")
        moderator = user["name"]
    return render(request, "history.html", {
        "user": user, "csrf": viewer.csrf, "moderator": moderator,
        "moderators": store.list_moderators() if user["is_admin"] else [],
        "rows": store.history(moderator=moderator, viewer=user["id"])})
