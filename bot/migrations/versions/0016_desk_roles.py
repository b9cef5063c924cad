"""Desk roles (dashboard_user.role): which review-desk pages an account may open.

Accounts that exist keep every page they had (supervisor); new ones are complaint agents
unless given a role (`python -m bot admin grant NAME ROLE`).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dashboard_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="agent")
        )
    op.execute("UPDATE dashboard_user SET role = 'supervisor'")


def downgrade() -> None:
    with op.batch_alter_table("dashboard_user", schema=None) as batch_op:
        batch_op.drop_column("role")
