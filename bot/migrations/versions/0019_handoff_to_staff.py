"""A person takes over (转人工): the handoff queue shared by every Rasa server and desk
process (handoff_conversation), what was said in it (handoff_entry, the audit trail), the
desk user's department, and staff notifications (who switched them off, what was sent).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("silent", sa.Boolean(), nullable=False),
        sa.Column("resumed", sa.Boolean(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("claimed_name", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=False),
        sa.Column("close_reason", sa.String(length=16), nullable=False),
        sa.Column("channel_problem", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_conversation")),
        sa.UniqueConstraint("reference", name=op.f("uq_handoff_conversation_reference")),
    )
    with op.batch_alter_table("handoff_conversation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_conversation_department"), ["department"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handoff_conversation_queued_at"), ["queued_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handoff_conversation_sender_id"), ["sender_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handoff_conversation_status"), ["status"], unique=False
        )

    op.create_table(
        "staff_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notification")),
        sa.UniqueConstraint(
            "kind", "subject", "sender_id", name=op.f("uq_staff_notification_kind")
        ),
    )
    op.create_table(
        "staff_notification_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notification_setting")),
        sa.UniqueConstraint("sender_id", name=op.f("uq_staff_notification_setting_sender_id")),
    )
    op.create_table(
        "handoff_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("author_name", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("delivery_detail", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["handoff_conversation.id"],
            name=op.f("fk_handoff_entry_conversation_id_handoff_conversation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_entry")),
    )
    with op.batch_alter_table("handoff_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_entry_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_handoff_entry_sender_id"), ["sender_id"], unique=False)

    with op.batch_alter_table("dashboard_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("department", sa.String(length=32), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("dashboard_user", schema=None) as batch_op:
        batch_op.drop_column("department")

    with op.batch_alter_table("handoff_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_entry_sender_id"))
        batch_op.drop_index(batch_op.f("ix_handoff_entry_conversation_id"))

    op.drop_table("handoff_entry")
    op.drop_table("staff_notification_setting")
    op.drop_table("staff_notification")
    with op.batch_alter_table("handoff_conversation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_conversation_status"))
        batch_op.drop_index(batch_op.f("ix_handoff_conversation_sender_id"))
        batch_op.drop_index(batch_op.f("ix_handoff_conversation_queued_at"))
        batch_op.drop_index(batch_op.f("ix_handoff_conversation_department"))

    op.drop_table("handoff_conversation")
