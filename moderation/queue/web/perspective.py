"""The Perspective API over HTTP: ``comments:analyze``, ``:suggestscore``, ``:batchAnalyze`` and the discovery document.

Each route authenticates (the API token of ``moderation users token NAME`` as
``?key=``, ``X-Goog-Api-Key`` or ``Authorization: Bearer``), decodes the body,
calls ``moderation.perspective.Perspective`` and answers in Google's JSON
(pretty-printed unless ``prettyPrint=false``). Errors are ``PerspectiveError``s,
answered by the app's exception handler in Google's shape. The routes are also
served at the root (``/comments:analyze``), for clients whose endpoint has no path.
"""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ...perspective import Perspective, PerspectiveError, decode, discovery_document

__all__ = ["router", "GoogleJSON", "MergeSlashes", "is_perspective_path", "pretty", "BATCH_PATH"]

router = APIRouter()
BATCH_PATH = "/v1alpha1/comments:batchAnalyze"
DISCOVERY = ("/$discovery/rest", "/discovery/v1/apis/commentanalyzer/v1alpha1/rest")


def is_perspective_path(path: str) -> bool:
    """Whether errors on ``path`` are answered in Google's shape."""
    return path.startswith(("/v1alpha1/", "/comments:", "/$discovery/", "/discovery/"))


class GoogleJSON(JSONResponse):
    """JSON as Google sends it: UTF-8, pretty-printed with two spaces unless the request says ``prettyPrint=false``."""

    media_type = "application/json; charset=UTF-8"

    def __init__(self, content, status_code: int = 200, *, pretty: bool = True, headers: dict | None = None):
        self.pretty = pretty
        super().__init__(content, status_code=status_code, headers=headers)

    def render(self, content) -> bytes:
        if self.pretty:
            return json.dumps(content, ensure_ascii=False, indent=2).encode("utf-8")
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def pretty(request: Request) -> bool:
    return request.query_params.get("prettyPrint", "true").lower() not in ("false", "0")


def _service(request: Request) -> Perspective:
    service = request.app.state.perspective
    if service is None:
        raise PerspectiveError("No model is loaded (start the server with --model).", code=503, status="UNAVAILABLE",
                               error_type=None)
    return service


def _moderator(request: Request, service: Perspective) -> dict:
    key = request.query_params.get("key") or request.headers.get("x-goog-api-key")
    auth = request.headers.get("authorization", "")
    bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    return service.authenticate(key, bearer)


async def raw_body(request: Request) -> bytes:
    return await request.body()


def _call(request: Request, raw: bytes, method: str) -> GoogleJSON:
    service = _service(request)
    moderator = _moderator(request, service)
    answer = getattr(service, method)(decode(raw), moderator)
    return GoogleJSON(answer, pretty=pretty(request))


for prefix in ("/v1alpha1", ""):
    @router.post(prefix + "/comments:analyze")
    def analyze(request: Request, raw: bytes = Depends(raw_body)):
        return _call(request, raw, "analyze")

    @router.post(prefix + "/comments:suggestscore")
    def suggestscore(request: Request, raw: bytes = Depends(raw_body)):
        return _call(request, raw, "suggest")

    @router.post(prefix + "/comments:batchAnalyze")
    def batch_analyze(request: Request, raw: bytes = Depends(raw_body)):
        return _call(request, raw, "analyze_batch")


for path in DISCOVERY:
    @router.get(path)
    def discovery(request: Request, version: str = "v1alpha1"):
        if version != "v1alpha1":
            # never 404: google-api-python-client 1.x would then fall back to Google's own address
            raise PerspectiveError(f"Unknown API version {version!r}: this server has commentanalyzer v1alpha1.")
        return GoogleJSON(discovery_document(str(request.base_url)), pretty=pretty(request))


class MergeSlashes:
    """ASGI middleware: ``//v1alpha1//comments:analyze`` is ``/v1alpha1/comments:analyze``.

    Older Coral Talk versions join the endpoint and the method with a plain ``/``,
    so an endpoint ending in ``/`` gives a double slash; only Perspective paths change.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and "//" in scope["path"]:
            merged = re.sub("/{2,}", "/", scope["path"])
            if is_perspective_path(merged):
                scope = {**scope, "path": merged}
        return await self.app(scope, receive, send)
