"""A limit on the size of request bodies, applied before a body is read whole.

``BodyLimit`` is plain ASGI middleware: a request whose ``Content-Length`` is
over the limit is answered at once without reading the body; a body sent
without one (chunked) is counted as it arrives and refused as soon as it passes
the limit (``BodyTooLarge``, raised where the route reads it). Either way the
app's ``too_large(path, limit)`` makes the response, so each part of the app
answers in its own shape.
"""

from __future__ import annotations

from typing import Callable

__all__ = ["BodyLimit", "BodyTooLarge", "MAX_BODY", "MAX_BATCH_BODY"]

MAX_BODY = 1024 * 1024  # 1 MiB: a comment, its context, a form with a bulk selection
MAX_BATCH_BODY = 32 * 1024 * 1024  # comments:batchAnalyze: 1,000 comments of up to 20 KB, JSON-escaped


class BodyTooLarge(Exception):
    """A request body passed its limit while it was being read."""

    def __init__(self, path: str, limit: int):
        super().__init__(f"request body larger than {limit} bytes")
        self.path, self.limit = path, limit


class BodyLimit:
    """Refuses request bodies over ``limit_for(path)`` bytes, before reading them whole."""

    def __init__(self, app, limit_for: Callable[[str], int], too_large: Callable[[str, int], object]):
        self.app, self.limit_for, self.too_large = app, limit_for, too_large

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        limit = self.limit_for(path)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        try:
            too_big = declared is not None and int(declared) > limit
        except ValueError:
            too_big = False  # the server refuses a malformed Content-Length itself
        if too_big:
            response = self.too_large(path, limit)
            response.headers["Connection"] = "close"
            return await response(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(path, limit)
            return message

        return await self.app(scope, counted, send)
