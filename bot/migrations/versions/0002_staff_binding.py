"""Staff binding: one-time invite codes, bound staff members, and binding attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "binding_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_attempt")),
    )
    with op.batch_alter_table("binding_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_binding_attempt_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_binding_attempt_sender_id"), ["sender_id"], unique=False
        )

    op.create_table(
        "staff_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "role",
            sa.Enum("staff", "teacher", "nurse", "supervisor", name="staff_role"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invite")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_staff_invite_code_hash")),
    )
    op.create_table(
        "staff_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "role",
            sa.Enum("staff", "teacher", "nurse", "supervisor", name="staff_role"),
            nullable=False,
        ),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["staff_invite.id"],
            name=op.f("fk_staff_member_invite_id_staff_invite"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_member")),
        sa.UniqueConstraint("sender_id", name=op.f("uq_staff_member_sender_id")),
    )


def downgrade() -> None:
    op.drop_table("staff_member")
    op.drop_table("staff_invite")
    with op.batch_alter_table("binding_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_binding_attempt_sender_id"))
        batch_op.drop_index(batch_op.f("ix_binding_attempt_created_at"))

    op.drop_table("binding_attempt")
    sa.Enum(name="staff_role").drop(op.get_bind(), checkfirst=True)
