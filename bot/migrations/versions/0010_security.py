"""Security: lock-outs per target and server-side review-desk sessions.

- `binding_attempt.target`: the 户号 or 学号 an attempt named, so that failures are
  counted per account or student across every sender and channel (`bot.identity`);
- `dashboard_session`: the review desk's sessions, kept on the server (the cookie holds
  a random id), so that signing out or disabling a user ends them at once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("binding_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_binding_attempt_kind_target", ["kind", "target"], unique=False)
    op.create_table(
        "dashboard_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_dashboard_session_token_hash")),
    )
    with op.batch_alter_table("dashboard_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dashboard_session_username"), ["username"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dashboard_session_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dashboard_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_session_expires_at"))
        batch_op.drop_index(batch_op.f("ix_dashboard_session_username"))
    op.drop_table("dashboard_session")
    with op.batch_alter_table("binding_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_binding_attempt_kind_target")
        batch_op.drop_column("target")
