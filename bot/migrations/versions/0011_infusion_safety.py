"""Home infusion safety (服务管理制度6): a request refused before any personal detail was
asked is kept without a patient or a community; the booking records an external drug's
medical record (item 2), the patient's allergies and contraindications (items 1 and 3) and
what the family reported, for the nurse's list.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("home_visit_booking", schema=None) as batch_op:
        batch_op.alter_column("patient_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("community_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("medical_record", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("health", sa.String(length=24), nullable=True))
        batch_op.add_column(
            sa.Column("family_notes", sa.String(length=300), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("home_visit_booking", schema=None) as batch_op:
        batch_op.drop_column("family_notes")
        batch_op.drop_column("health")
        batch_op.drop_column("medical_record")
    # Refusals kept without a patient cannot go back to a schema that requires one.
    anonymous = "SELECT id FROM home_visit_booking WHERE patient_id IS NULL OR community_id IS NULL"
    op.execute(f"DELETE FROM booking_event WHERE booking_id IN ({anonymous})")
    op.execute(f"DELETE FROM home_visit_booking WHERE id IN ({anonymous})")
    with op.batch_alter_table("home_visit_booking", schema=None) as batch_op:
        batch_op.alter_column("patient_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("community_id", existing_type=sa.Integer(), nullable=False)
