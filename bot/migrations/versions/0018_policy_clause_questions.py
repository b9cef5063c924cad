"""Policy search: each clause keeps the questions people ask that it answers, in their
own words (data/policies/clause_questions.yml), and their embeddings, so that a question
worded far from the clause still finds it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policy_clause", schema=None) as batch_op:
        batch_op.add_column(sa.Column("questions", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("question_embeddings", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policy_clause", schema=None) as batch_op:
        batch_op.drop_column("question_embeddings")
        batch_op.drop_column("questions")
