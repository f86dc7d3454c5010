"""Alembic environment: runs against the URL the caller set, else DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from todo_backend.config import database_url_from_env
from todo_backend.db.models import Base
from todo_backend.db.session import make_engine

config = context.config


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    url = config.get_main_option("sqlalchemy.url") or database_url_from_env()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            run(connection)
    finally:
        engine.dispose()


main()
