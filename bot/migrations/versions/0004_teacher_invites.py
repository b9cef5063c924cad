"""Teacher invites: a staff invite may name the teacher record it binds.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_invite", schema=None) as batch_op:
        batch_op.add_column(sa.Column("teacher_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_invite_teacher_id_teacher"),
            "teacher",
            ["teacher_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_invite", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_staff_invite_teacher_id_teacher"), type_="foreignkey"
        )
        batch_op.drop_column("teacher_id")
