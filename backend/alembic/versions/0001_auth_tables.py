"""better-auth's tables (email and password, JWT plugin), with its camelCase column names.

Columns, nullability, defaults and indexes match what better-auth 1.7.25 itself generates for
PostgreSQL (`getMigrations(...).compileMigrations()` with the JWT plugin), so better-auth finds the
schema it expects although it never migrates: Alembic is the one migration owner.

Revision ID: 0001_auth
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_auth"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")
# better-auth declares its dates as DATE on SQLite (it stores ISO text there) and timestamptz on
# PostgreSQL; only the DDL matters, no Python code maps these tables.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.Date(), "sqlite")


def _timestamp(name: str, *, default: bool, nullable: bool = False) -> sa.Column:
    # better-auth always writes these itself; the defaults only mirror its own DDL.
    return sa.Column(name, TIMESTAMP, nullable=nullable, server_default=NOW if default else None)


def _user_fk() -> sa.Column:
    user_id = sa.ForeignKey("user.id", ondelete="CASCADE")
    return sa.Column("userId", sa.Text, user_id, nullable=False)


def _create_core_tables() -> None:
    op.create_table(
        "user",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("emailVerified", sa.Boolean, nullable=False),
        sa.Column("image", sa.Text, nullable=True),
        _timestamp("createdAt", default=True),
        _timestamp("updatedAt", default=True),
    )
    op.create_table(
        "session",
        sa.Column("id", sa.Text, primary_key=True),
        _timestamp("expiresAt", default=False),
        sa.Column("token", sa.Text, nullable=False, unique=True),
        _timestamp("createdAt", default=True),
        _timestamp("updatedAt", default=False),
        sa.Column("ipAddress", sa.Text, nullable=True),
        sa.Column("userAgent", sa.Text, nullable=True),
        _user_fk(),
    )
    op.create_table(
        "account",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("accountId", sa.Text, nullable=False),
        sa.Column("providerId", sa.Text, nullable=False),
        _user_fk(),
        sa.Column("accessToken", sa.Text, nullable=True),
        sa.Column("refreshToken", sa.Text, nullable=True),
        sa.Column("idToken", sa.Text, nullable=True),
        _timestamp("accessTokenExpiresAt", default=False, nullable=True),
        _timestamp("refreshTokenExpiresAt", default=False, nullable=True),
        sa.Column("scope", sa.Text, nullable=True),
        sa.Column("password", sa.Text, nullable=True),
        _timestamp("createdAt", default=True),
        _timestamp("updatedAt", default=False),
    )
    op.create_table(
        "verification",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("identifier", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        _timestamp("expiresAt", default=False),
        _timestamp("createdAt", default=True),
        _timestamp("updatedAt", default=True),
    )


def _create_jwks_table() -> None:
    op.create_table(
        "jwks",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("publicKey", sa.Text, nullable=False),
        sa.Column("privateKey", sa.Text, nullable=False),
        _timestamp("createdAt", default=False),
        _timestamp("expiresAt", default=False, nullable=True),
        sa.Column("alg", sa.Text, nullable=True),
        sa.Column("crv", sa.Text, nullable=True),
    )


def upgrade() -> None:
    _create_core_tables()
    _create_jwks_table()
    op.create_index("session_userId_idx", "session", ["userId"])
    op.create_index("account_userId_idx", "account", ["userId"])
    op.create_index("verification_identifier_idx", "verification", ["identifier"])


def downgrade() -> None:
    for table in ("jwks", "verification", "account", "session", "user"):
        op.drop_table(table)
