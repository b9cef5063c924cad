"""Initial schema: the policy corpus and the department directory.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("services", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("opening_hours", sa.String(length=128), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department")),
        sa.UniqueConstraint("code", name=op.f("uq_department_code")),
    )
    op.create_table(
        "policy_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("audience", sa.Enum("public", "staff", name="audience"), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_document")),
        sa.UniqueConstraint("code", name=op.f("uq_policy_document_code")),
    )
    op.create_table(
        "policy_clause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("heading", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["policy_document.id"],
            name=op.f("fk_policy_clause_document_id_policy_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_clause")),
        sa.UniqueConstraint("document_id", "ordinal", name=op.f("uq_policy_clause_document_id")),
    )
    with op.batch_alter_table("policy_clause", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_policy_clause_document_id"), ["document_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("policy_clause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_clause_document_id"))

    op.drop_table("policy_clause")
    op.drop_table("policy_document")
    op.drop_table("department")
    # PostgreSQL keeps enum types after their table is dropped.
    sa.Enum(name="audience").drop(op.get_bind(), checkfirst=True)
