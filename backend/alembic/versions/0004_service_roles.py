"""Least privilege: one role per service, each granted only what it uses (PostgreSQL only).

The migrating role (DATABASE_URL's user) keeps owning everything. The roles are created
NOLOGIN here; `todo_backend.migrate` then lets each log in with the password from its URL.
better-auth's tables belong to the front end's role alone; the back end reads three columns
of `session` (never `token`) to honour sign-out; the MCP server touches `task` only.
A later revision that adds a table grants it too (docs/database-roles.md).

Revision ID: 0004_service_roles
Revises: 0003_conversation_history
"""

from collections.abc import Sequence

from alembic import op

from todo_backend.db.roles import BACKEND, FRONTEND, MCP

revision: str = "0004_service_roles"
down_revision: str | None = "0003_conversation_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CRUD = "SELECT, INSERT, UPDATE, DELETE"
GRANTS = (
    # better-auth's own tables, read and written by the front end only.
    f'GRANT {CRUD} ON "user", session, account, verification, jwks TO {FRONTEND}',
    f"GRANT {CRUD} ON task, conversation, message TO {BACKEND}",
    f"GRANT USAGE ON SEQUENCE task_id_seq, conversation_id_seq, message_id_seq TO {BACKEND}",
    f'GRANT SELECT (id, "userId", "expiresAt") ON session TO {BACKEND}',
    f"GRANT SELECT ON alembic_version TO {BACKEND}",  # /ready compares it with the head
    f"GRANT {CRUD} ON task TO {MCP}",
    f"GRANT USAGE ON SEQUENCE task_id_seq TO {MCP}",
)


def _create_role(role: str) -> str:
    # Roles are per server, not per database: another database (a test's, a second install) or
    # an administrator (an owner without CREATEROLE) may have made it, possibly this moment.
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; END IF; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite (local development) has no roles
    for role in (FRONTEND, BACKEND, MCP):
        op.execute(_create_role(role))
        op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    # Before PostgreSQL 15 every role may create tables in `public`.
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    for grant in GRANTS:
        op.execute(grant)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The roles stay: other databases on the server may still grant them rights.
    for role in (FRONTEND, BACKEND, MCP):
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE ALL ON SCHEMA public FROM {role}")
