"""Refuse a request body larger than the limit (413) before any route reads it.

A declared Content-Length over the limit is answered at once, unread; a body sent without one
(chunked) is counted as it arrives and refused as soon as it passes the limit. Either way no
more than the limit is held in memory, whatever the client sends.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_detail(limit: int) -> str:
    return f"The request body is larger than {limit} bytes"


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            refused = JSONResponse({"detail": too_large_detail(self.limit)}, status_code=413)
            await refused(scope, receive, send)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Raised inside the route's body read: FastAPI passes HTTPException on to
                    # the exception handlers, which answer 413 in the API's own shape.
                    raise HTTPException(413, too_large_detail(self.limit))
            return message

        return counted


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
