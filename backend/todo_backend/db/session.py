"""Engines and session factories for the back end and for other processes (the MCP server)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from todo_backend.config import normalise_database_url


def make_engine(url: str) -> Engine:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        # FastAPI runs sync routes in a thread pool: one SQLite connection may cross threads.
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_foreign_keys)
        return engine
    # The database pod may restart under us: test each pooled connection before use.
    # A bounded connect keeps /ready and requests from hanging on an unreachable host.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: domain functions commit and callers serialise the result.
    return sessionmaker(engine, expire_on_commit=False)
