"""Domain errors as HTTP answers: invalid fields are 422 in FastAPI's own shape, unknown ids 404."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from todo_backend.domain.conversations import ConversationNotFound
from todo_backend.domain.tasks import InvalidTask, TaskNotFound


async def invalid_task(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InvalidTask)  # registered for InvalidTask only; narrows the type
    location = "query" if error.field in ("status", "sort") else "body"
    detail = [{"loc": [location, error.field], "msg": error.reason, "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


class EscapedJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: an error that quotes what was sent (a lone surrogate, which
    UTF-8 cannot encode) still renders, as a 422 instead of a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")


async def invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    detail = jsonable_encoder(error.errors())
    return EscapedJSONResponse({"detail": detail}, status_code=422)


async def not_found(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=status.HTTP_404_NOT_FOUND)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(InvalidTask, invalid_task)
    app.add_exception_handler(TaskNotFound, not_found)
    app.add_exception_handler(ConversationNotFound, not_found)
