"""Per-user rate limits held across replicas: one counter row per user and bucket in the shared
database, in fixed windows, moved by a single atomic upsert (no read-then-write race)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import Engine, text

from todo_backend.api.deps import current_user
from todo_backend.api.schemas import ErrorOut

WINDOW_SECONDS = 60  # the settings' numbers are per minute

# A row from an older window restarts at 1; a replica whose clock lags (an older window_start)
# counts into the newer window rather than moving it back. PostgreSQL and SQLite both run this.
CONSUME = text(
    "INSERT INTO rate_limit (user_id, bucket, window_start, count) "
    "VALUES (:user_id, :bucket, :window_start, 1) "
    "ON CONFLICT (user_id, bucket) DO UPDATE SET "
    "count = CASE WHEN excluded.window_start > rate_limit.window_start THEN 1 "
    "ELSE rate_limit.count + 1 END, "
    "window_start = CASE WHEN excluded.window_start > rate_limit.window_start "
    "THEN excluded.window_start ELSE rate_limit.window_start END "
    "RETURNING count, window_start"
)

TOO_MANY: dict[int | str, dict[str, Any]] = {
    status.HTTP_429_TOO_MANY_REQUESTS: {
        "model": ErrorOut,
        "description": "over the user's limit; Retry-After says when to try again",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    }
}


def consume(engine: Engine, user_id: str, bucket: str, limit: int, now: float) -> int | None:
    """Count one request; None when within `limit`, else the seconds until the window ends."""
    window_start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    params = {"user_id": user_id, "bucket": bucket, "window_start": window_start}
    with engine.begin() as connection:  # its own transaction: counted even if the request fails
        count, started = connection.execute(CONSUME, params).one()
    if count <= limit:
        return None
    return max(1, math.ceil(started + WINDOW_SECONDS - now))


def limited(bucket: str, limit_of: Callable[[Any], int]) -> Any:
    """A dependency that counts the signed-in user's request in `bucket` and refuses it with
    429 past the limit `limit_of(settings)` gives."""

    def check(request: Request, user_id: Annotated[str, Depends(current_user)]) -> None:
        limit = limit_of(request.app.state.settings)
        wait = consume(request.app.state.engine, user_id, bucket, limit, time.time())
        if wait is not None:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"Too many {bucket} requests: at most {limit} a minute; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )

    return Depends(check)


CHAT_LIMIT = limited("chat", lambda settings: settings.chat_turns_per_minute)
WRITE_LIMIT = limited("write", lambda settings: settings.writes_per_minute)
