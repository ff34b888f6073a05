"""The JSON API: the queue, claims and decisions for machine clients, and scoring one comment as it is posted
(with a ``note`` saying when only the start of a very long text was scored).

Errors are JSON (``{"error": ...}``), produced by the app's exception handlers:
401 without a valid token or session, 403 when not allowed, 400 for a bad
request, 409 when someone else holds or decided the comment. Reading never
changes anything: claims are taken with ``POST /api/claims``.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...batch import NOTE_CUT
from ...errors import ModerationError
from ...model import MAX_TEXT_CHARS
from ..store import SORTS, STATUSES
from .auth import Forbidden, Viewer, api_user, api_writer

__all__ = ["router", "json_body"]

router = APIRouter(prefix="/api")
_SURROGATE = re.compile("[\ud800-\udfff]")
_PUBLIC = ("id", "text", "source", "article_id", "article_title", "article_url", "author", "parent_id",
           "parent_text", "created_at", "thread_id", "score", "threshold", "categories", "top_category", "reasons",
           "spans", "model_version", "added_at", "status", "claim_expires", "escalation")


async def json_body(request: Request) -> dict | None:
    """The request's JSON object, or None when the body is not one.

    JSON may escape lone surrogates ("\\ud800"): they cannot be stored or encoded in
    a response, so they become U+FFFD (one for one: offsets into the text stay the same).
    """
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly nested JSON
        return None
    if not isinstance(body, dict):
        return None
    return {k: _SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for k, v in body.items()}


async def optional_json_body(request: Request) -> dict | None:
    """``json_body``, with an empty body as ``{}``."""
    if not (await request.body()).strip():
        return {}
    return await json_body(request)


def _public(c: dict) -> dict:
    return {k: c.get(k) for k in _PUBLIC}


def _view(user: dict, sort, status, limit) -> int:
    """Check a view of the queue; the limit clamped to 1..500."""
    if sort not in SORTS or status not in STATUSES:
        raise ModerationError(f"sort is {'|'.join(SORTS)}; status {'|'.join(STATUSES)}")
    if status == "escalated" and not user["is_admin"]:
        raise Forbidden("only an admin reviews escalated comments")
    try:
        return max(1, min(int(limit), 500))
    except (TypeError, ValueError):
        raise ModerationError("limit is a number") from None


def _text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise ModerationError("filters are text")


@router.get("/queue")
def api_queue(request: Request, sort: str = "score", status: str = "pending", category: str | None = None,
              source: str | None = None, article: str | None = None, author: str | None = None, limit: int = 50,
              claim: str | None = None, viewer: Viewer = Depends(api_user)):
    if claim is not None:
        raise ModerationError("reading the queue takes no claims: POST /api/claims claims comments")
    limit = _view(viewer.user, sort, status, limit)
    items = request.app.state.store.list_queue(status=status, sort=sort, category=category, source=source,
                                               article=article, author=author, limit=limit)
    return {"items": [_public(c) for c in items]}


@router.post("/claims")
def api_claims(request: Request, viewer: Viewer = Depends(api_writer),
               body: dict | None = Depends(optional_json_body)):
    """Claim the top of a view of the queue (``sort``, ``status``, ``category``, ``source``, ``article``, ``limit``)."""
    if body is None:
        raise ModerationError("send a JSON object (or nothing)")
    sort, status = body.get("sort", "score"), body.get("status", "pending")
    limit = _view(viewer.user, sort, status, body.get("limit", 50))
    items = request.app.state.store.claim_next(viewer.user["id"], limit=limit, sort=sort, status=status,
                                               category=_text(body.get("category")),
                                               source=_text(body.get("source")), article=_text(body.get("article")))
    return {"items": [_public(c) for c in items]}


@router.get("/decisions")
def api_decisions(request: Request, moderator: str | None = None, comment_id: str | None = None, limit: int = 100,
                  viewer: Viewer = Depends(api_user)):
    user = viewer.user
    if moderator not in (None, user["name"]) and not user["is_admin"]:
        raise Forbidden("only an admin sees other moderators' decisions")
    rows = request.app.state.store.history(moderator=moderator, comment_id=comment_id, viewer=user["id"],
                                           limit=max(1, min(limit, 1000)))
    return {"items": rows}


@router.post("/decisions")
def api_decide(request: Request, viewer: Viewer = Depends(api_writer), body: dict | None = Depends(json_body)):
    if body is None:
        raise ModerationError("send a JSON object")
    if "reason" in body:
        raise ModerationError("the moderator's ground is reason_code (reasons are what the model gives)")
    did = request.app.state.store.decide(str(body.get("comment_id", "")), viewer.user["id"],
                                         str(body.get("action", "")), body.get("reason_code") or None,
                                         body.get("note") or None)
    return JSONResponse({"id": did, "comment_id": str(body["comment_id"]), "action": body["action"]},
                        status_code=201)


@router.post("/undo")
def api_undo(request: Request, viewer: Viewer = Depends(api_writer),
             body: dict | None = Depends(optional_json_body)):
    """Undo ``decision_id`` (or its whole bulk action), or without one the caller's latest decision."""
    store = request.app.state.store
    if body is None:
        raise ModerationError('send nothing, or {"decision_id": N}')
    if body.get("decision_id") is not None:
        return {"undone": store.undo(body["decision_id"], viewer.user["id"])}
    return {"undone": store.undo_last(viewer.user["id"])}


@router.post("/score")
def api_score(request: Request, viewer: Viewer = Depends(api_writer), body: dict | None = Depends(json_body)):
    if body is None or not isinstance(body.get("text"), str):
        raise ModerationError('send {"text": "..."}')
    m = request.app.state.model
    if m is None:
        return JSONResponse({"error": "no model loaded (start the server with --model)"}, status_code=503)
    text = body["text"]
    columns = m.score_columns([text], categories=bool(m.category_names), reasons=0)
    score = float(columns["score"][0])
    categories = {name: round(float(columns[name][0]), 6) for name in m.category_names}
    return {"score": round(score, 6), "flag": score >= m.threshold, "threshold": m.threshold,
            "categories": categories,
            "spans": [s._asdict() for s in m.explain(text)],
            "note": NOTE_CUT if len(text) > MAX_TEXT_CHARS else "",
            "model_version": m.card.version_tag}
