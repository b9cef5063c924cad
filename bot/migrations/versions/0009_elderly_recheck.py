"""Elderly care: the quarterly re-check of every person served (每季度核实一次, 服务管理制度8
item 1) as a kind of visit, and the day a person stops being served, after which nothing
is scheduled for them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KINDS_BEFORE = ("service", "follow_up")


# Plain ALTER TABLE, not batch mode: on SQLite a batch copies the table and drops the old
# one, and with foreign keys on (bot.infra.db) dropping it deletes every visit of the archive
# (ON DELETE CASCADE). SQLite 3.35+ adds and drops these columns in place.


def upgrade() -> None:
    op.add_column("elderly_care_client", sa.Column("ended_on", sa.Date(), nullable=True))
    op.add_column(
        "elderly_care_client",
        sa.Column("end_reason", sa.String(length=200), nullable=False, server_default=""),
    )
    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL keeps enum values in a type; SQLite stores the kind as plain text.
        op.execute("ALTER TYPE care_visit_kind ADD VALUE IF NOT EXISTS 'recheck'")


def downgrade() -> None:
    op.execute("DELETE FROM elderly_care_visit WHERE kind = 'recheck'")
    if op.get_bind().dialect.name == "postgresql":
        # A value cannot be dropped from a PostgreSQL enum: the type is made again.
        op.execute("ALTER TYPE care_visit_kind RENAME TO care_visit_kind_0009")
        sa.Enum(*KINDS_BEFORE, name="care_visit_kind").create(op.get_bind())
        op.execute(
            "ALTER TABLE elderly_care_visit ALTER COLUMN kind TYPE care_visit_kind"
            " USING kind::text::care_visit_kind"
        )
        op.execute("DROP TYPE care_visit_kind_0009")
    op.drop_column("elderly_care_client", "end_reason")
    op.drop_column("elderly_care_client", "ended_on")
