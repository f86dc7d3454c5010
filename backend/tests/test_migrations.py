"""Migrations: up from empty, idempotent re-runs, parallel runs, failures, models in step."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from todo_backend.db.models import Base
from todo_backend.db.schema import alembic_config, current_revision, script_head
from todo_backend.db.session import make_engine
from todo_backend.migrate import LOCK_KEY, upgrade

APP_TABLES = {"task", "conversation", "message", "rate_limit"}
AUTH_TABLES = {"user", "session", "account", "verification", "jwks", "rateLimit"}


def run_migrate(url: str, cwd: str = "/") -> subprocess.CompletedProcess[str]:
    """`python -m todo_backend.migrate` as the init container runs it: from any directory."""
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "todo_backend.migrate"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_upgrade_from_empty_creates_every_table(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= APP_TABLES | AUTH_TABLES
        assert current_revision(connection) == script_head()
    engine.dispose()


def test_rerun_is_a_no_op(migrated_url):
    engine = make_engine(migrated_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO task (user_id, title) VALUES ('u', 'kept')"))
    result = run_migrate(migrated_url)
    assert result.returncode == 0, result.stdout + result.stderr
    with engine.connect() as connection:
        assert connection.execute(text("SELECT title FROM task")).scalars().all() == ["kept"]
    engine.dispose()


def app_objects(obj, name, type_, reflected, compare_to) -> bool:
    """Only our tables: better-auth's exist in the migrations alone, with no Python model."""
    table = obj if type_ == "table" else obj.table
    return table.name not in AUTH_TABLES


def test_models_match_the_migrations(migrated_url):
    engine = make_engine(migrated_url)
    with engine.connect() as connection:
        options = {"compare_type": True, "include_object": app_objects}
        context = MigrationContext.configure(connection, opts=options)
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


@pytest.mark.postgres
def test_concurrent_migrations_both_succeed(postgres_url):
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run_migrate, [postgres_url, postgres_url]))
    for result in results:
        assert result.returncode == 0, result.stdout + result.stderr
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        assert current_revision(connection) == script_head()
        versions = connection.execute(text("SELECT count(*) FROM alembic_version")).scalar()
    engine.dispose()
    assert versions == 1
    # Exactly one of them ran the migrations; the other waited and found the schema at head.
    ran = [r for r in results if "Running upgrade" in r.stdout]
    assert len(ran) == 1


@pytest.mark.postgres
def test_failed_migration_prints_its_error_and_exits_non_zero(postgres_url):
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE task (id integer)"))
    engine.dispose()
    result = run_migrate(postgres_url)
    assert result.returncode == 1
    assert "migration failed" in result.stdout
    assert 'relation \\"task\\" already exists' in result.stdout
    # PostgreSQL runs the migrations in one transaction: nothing half-done stays behind.
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        assert "user" not in inspect(connection).get_table_names()
    engine.dispose()


def test_missing_database_url_is_one_line():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "todo_backend.migrate"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith("config error: DATABASE_URL is missing: set it to")
    assert result.stderr.count("\n") == 1


@pytest.mark.postgres
def test_migrate_waits_for_the_advisory_lock(postgres_url):
    """While another migrator holds the lock, nothing is migrated; released, the upgrade runs."""
    holder = make_engine(postgres_url)
    with holder.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
        connection.commit()
        waiting = subprocess.Popen(
            [sys.executable, "-m", "todo_backend.migrate"],
            env={**os.environ, "DATABASE_URL": postgres_url},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert waiting.stdout is not None
        assert "waiting for the migration lock" in waiting.stdout.readline()
        time.sleep(1.5)
        assert waiting.poll() is None
        assert "user" not in inspect(connection).get_table_names()
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        connection.commit()
        output, _ = waiting.communicate(timeout=60)
    holder.dispose()
    assert waiting.returncode == 0
    assert "Running upgrade" in output


def test_conversations_from_before_titles_get_their_first_user_message(database_url):
    command.upgrade(alembic_config(database_url), "0002_tasks_and_chat")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO conversation (id, user_id) VALUES (1, 'u'), (2, 'u')"))
        connection.execute(
            text(
                "INSERT INTO message (user_id, conversation_id, role, content) VALUES "
                "('u', 1, 'assistant', 'hello'), ('u', 1, 'user', 'add buy milk'), "
                "('u', 1, 'user', 'later one')"
            )
        )
    upgrade(database_url)
    with engine.connect() as connection:
        titles = connection.execute(text("SELECT id, title FROM conversation ORDER BY id")).all()
    engine.dispose()
    assert [tuple(row) for row in titles] == [(1, "add buy milk"), (2, None)]
