"""The operators' figures of closed days (analytics_day), so that `python -m bot analytics`
reads only the tracker events it has not summed before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_day")),
        sa.UniqueConstraint("day", "channel", name=op.f("uq_analytics_day_day")),
    )
    with op.batch_alter_table("analytics_day", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analytics_day_day"), ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("analytics_day", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_day_day"))
    op.drop_table("analytics_day")
