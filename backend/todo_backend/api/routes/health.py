"""Probes: `/health` says the process serves; `/ready` that the database is usable."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from todo_backend.db.schema import current_revision, script_head

router = APIRouter(tags=["probes"])


@router.get("/health")
async def health() -> dict[str, str]:
    """No I/O: a slow database must not get a live process restarted."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "database unreachable or not migrated"}})
def ready(request: Request) -> JSONResponse:
    """Ready when the database answers and its schema is at the Alembic head."""
    head = script_head()
    try:
        with request.app.state.engine.connect() as connection:
            revision = current_revision(connection)
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error  # the driver's error names the problem
        return _not_ready(f"database unreachable: {type(cause).__name__}")
    if revision != head:
        return _not_ready(f"schema at {revision or 'no revision'}, expected {head}")
    return JSONResponse({"status": "ready", "revision": revision})


def _not_ready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
