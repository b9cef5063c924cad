"""A department's 24-hour emergency line (the gas utility's 抢修电话), given in every answer
to a gas emergency, inside a form or outside it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("emergency_phone", sa.String(length=32), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_column("emergency_phone")
