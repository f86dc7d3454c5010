"""Rate-limit counters shared by every replica: the back end's per user and bucket, better-auth's
per client IP and path (its `rateLimit.storage: "database"`).

`rateLimit` mirrors better-auth 1.7.25's own schema for it (core/dist/db/get-tables.mjs): a text
id, a unique text key, an integer count and lastRequest as milliseconds in a bigint.

Each table is granted to the role that uses it (docs/database-roles.md): `rate_limit` to the
back end's, `rateLimit` to the front end's.

Revision ID: 0005_rate_limits
Revises: 0004_service_roles
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_backend.db.roles import BACKEND, FRONTEND

revision: str = "0005_rate_limits"
down_revision: str | None = "0004_service_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("bucket", sa.String(32), primary_key=True),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "rateLimit",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("lastRequest", sa.BigInteger, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":  # SQLite (local development) has no roles
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limit TO {BACKEND}")
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "rateLimit" TO {FRONTEND}')


def downgrade() -> None:
    op.drop_table("rateLimit")
    op.drop_table("rate_limit")
