"""Conversations that can be listed and replayed: titles, stored tool calls, pending actions.

Revision ID: 0003_conversation_history
Revises: 0002_tasks_and_chat
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_conversation_history"
down_revision: str | None = "0002_tasks_and_chat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TITLE_MAX = 80
TITLE_CUT = 60


def upgrade() -> None:
    with op.batch_alter_table("conversation") as table:
        table.add_column(sa.Column("title", sa.String(TITLE_MAX), nullable=True))
        table.create_index("ix_conversation_user_id_updated_at", ["user_id", "updated_at"])
    with op.batch_alter_table("message") as table:
        table.add_column(sa.Column("tool_calls", sa.JSON, nullable=True))
        table.add_column(sa.Column("pending_action", sa.JSON, nullable=True))
    # Conversations from before this revision get their first user message as the title.
    op.execute(
        sa.text(
            "UPDATE conversation SET title = (SELECT substr(m.content, 1, :cut) FROM message m "
            "WHERE m.conversation_id = conversation.id AND m.role = 'user' ORDER BY m.id LIMIT 1)"
        ).bindparams(cut=TITLE_CUT)
    )


def downgrade() -> None:
    with op.batch_alter_table("message") as table:
        table.drop_column("pending_action")
        table.drop_column("tool_calls")
    with op.batch_alter_table("conversation") as table:
        table.drop_index("ix_conversation_user_id_updated_at")
        table.drop_column("title")
