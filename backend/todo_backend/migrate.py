"""`python -m todo_backend.migrate`: bring the schema to the Alembic head, safely in parallel.

Kubernetes may start several replicas' init containers at once. On PostgreSQL a session-level
advisory lock, held on its own connection, serialises them: the first upgrades, the others then
find the schema at head and do nothing. SQLite (local development) has a single writer anyway.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from alembic import command
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from todo_backend.config import ConfigError, database_url_from_env
from todo_backend.db.roles import RoleError, logins_from_env, set_logins
from todo_backend.db.schema import alembic_config
from todo_backend.db.session import make_engine
from todo_backend.logs import configure_logging

# Any fixed 64-bit number works; every migrator must use the same one ("todo" in ASCII).
LOCK_KEY = 0x746F646F
CONNECT_TIMEOUT_SECONDS = 60.0

log = logging.getLogger("todo_backend.migrate")


def upgrade(url: str, logins: Mapping[str, str] | None = None) -> None:
    """Run `alembic upgrade head` against `url`, under the advisory lock on PostgreSQL.

    `logins` ({role: password}) then lets the services' roles log in (PostgreSQL only).
    """
    engine = make_engine(url)
    try:
        with _migration_lock(engine):
            command.upgrade(alembic_config(url), "head")
            if logins and engine.dialect.name == "postgresql":
                with engine.begin() as connection:
                    set_logins(connection, logins)
    finally:
        engine.dispose()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name != "postgresql":
        yield
        return
    with _connect_with_retry(engine) as connection:
        log.info("waiting for the migration lock")
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            connection.commit()


def _connect_with_retry(engine: Engine):
    """The database may still be starting (fresh pod): retry for a while before giving up."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_SECONDS
    while True:
        try:
            return engine.connect()
        except OperationalError as error:
            if time.monotonic() > deadline:
                raise
            log.info("database not reachable yet, retrying: %s", error.orig)
            time.sleep(2)


def main() -> int:
    configure_logging()
    logging.getLogger("alembic").setLevel(logging.INFO)
    try:
        url = database_url_from_env()
        logins = logins_from_env()
    except (ConfigError, RoleError) as error:
        print(error, file=sys.stderr)
        return 2
    try:
        upgrade(url, logins)
    except Exception as error:
        log.error("migration failed: %s", error)
        return 1
    log.info("schema at head")
    return 0


if __name__ == "__main__":
    sys.exit(main())
