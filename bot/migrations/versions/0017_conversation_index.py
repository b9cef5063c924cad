"""The conversation index (conversation_session): each conversation of the tracker store
summed by channel, day, flow and outcome, for the desk's conversation search.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("first_event_id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_messages", sa.Integer(), nullable=False),
        sa.Column("not_understood", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("abandoned", sa.Integer(), nullable=False),
        sa.Column("handoffs", sa.Integer(), nullable=False),
        sa.Column("policy_not_answered", sa.Integer(), nullable=False),
        sa.Column("flows", sa.String(length=255), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_session")),
        sa.UniqueConstraint("first_event_id", name=op.f("uq_conversation_session_first_event_id")),
    )
    with op.batch_alter_table("conversation_session", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversation_session_sender", ["sender_id", "first_event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversation_session_last_event_id"), ["last_event_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversation_session_started_at"), ["started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_session_started_at"))
        batch_op.drop_index(batch_op.f("ix_conversation_session_last_event_id"))
        batch_op.drop_index("ix_conversation_session_sender")
    op.drop_table("conversation_session")
