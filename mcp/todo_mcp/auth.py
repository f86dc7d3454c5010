"""Bearer-token gate: the MCP server is internal; only the back end, holding the token, calls it."""

from __future__ import annotations

import hmac
import logging

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

# Probes reach these without the token; everything else is refused without it.
OPEN_PATHS = frozenset({"/health"})


class BearerTokenMiddleware:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client") or ("unknown", 0)
        log.warning("refused a request from %s without a valid bearer token", client[0])
        response = JSONResponse(
            {"error": "unauthorized", "detail": "a valid bearer token is required"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        provided = Headers(scope=scope).get("authorization", "").encode()
        # Constant time, so response timing does not reveal how much of a guess was right.
        return hmac.compare_digest(provided, self.expected)
