"""Policy search's semantic signal: each clause keeps its sentence embedding (384 float32,
little-endian) and the name of the model that made it, so that a clause is embedded once,
when the regulations are stored, and again only when its text or the model changes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policy_clause", schema=None) as batch_op:
        batch_op.add_column(sa.Column("embedding", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("embedding_model", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policy_clause", schema=None) as batch_op:
        batch_op.drop_column("embedding_model")
        batch_op.drop_column("embedding")
