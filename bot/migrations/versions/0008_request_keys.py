"""Idempotent writes: a complaint or a home-infusion booking carries the key of the
request that made it (`bot.infra.idempotency.request_key`), unique, so that a confirmation
sent again (a retry after a timeout, a button pressed twice, a crash between the write
and the answer) finds the row it already made instead of writing a second one.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("complaint", "home_visit_booking")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("request_key", sa.String(length=64), nullable=True))
            batch_op.create_unique_constraint(
                batch_op.f(f"uq_{table}_request_key"), ["request_key"]
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"uq_{table}_request_key"), type_="unique")
            batch_op.drop_column("request_key")
