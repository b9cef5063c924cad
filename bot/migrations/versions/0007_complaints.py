"""Complaints and praise: complaints with their audit trail, notifications to the
complainant and satisfaction answers; praise; the supervisors' dashboard accounts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_no", sa.String(length=24), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("occurred", sa.String(length=200), nullable=False),
        sa.Column("staff_involved", sa.String(length=100), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column(
            "state",
            sa.Enum("new", "assigned", "in_progress", "resolved", "closed", name="complaint_state"),
            nullable=False,
        ),
        sa.Column("assignee", sa.String(length=64), nullable=False),
        sa.Column(
            "finding",
            sa.Enum("substantiated", "unsubstantiated", name="complaint_finding"),
            nullable=True,
        ),
        sa.Column("responsible_staff", sa.String(length=100), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
        sa.UniqueConstraint("ticket_no", name=op.f("uq_complaint_ticket_no")),
    )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_sender_id"), ["sender_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_state"), ["state"], unique=False)

    op.create_table(
        "dashboard_login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_login_attempt")),
    )
    with op.batch_alter_table("dashboard_login_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dashboard_login_attempt_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dashboard_login_attempt_username"), ["username"], unique=False
        )

    op.create_table(
        "dashboard_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_user")),
        sa.UniqueConstraint("username", name=op.f("uq_dashboard_user_username")),
    )
    op.create_table(
        "praise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=16), nullable=False),
        sa.Column("staff_named", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_praise")),
    )
    with op.batch_alter_table("praise", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_praise_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_praise_sender_id"), ["sender_id"], unique=False)

    op.create_table(
        "complaint_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_complaint_event_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_event")),
    )
    with op.batch_alter_table("complaint_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_event_complaint_id"), ["complaint_id"], unique=False
        )

    op.create_table(
        "complaint_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_complaint_notification_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_notification")),
    )
    with op.batch_alter_table("complaint_notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_notification_complaint_id"), ["complaint_id"], unique=False
        )

    op.create_table(
        "survey_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_survey_answer_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answer")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_survey_answer_complaint_id")),
    )


def downgrade() -> None:
    op.drop_table("survey_answer")
    with op.batch_alter_table("complaint_notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_notification_complaint_id"))

    op.drop_table("complaint_notification")
    with op.batch_alter_table("complaint_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_event_complaint_id"))

    op.drop_table("complaint_event")
    with op.batch_alter_table("praise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_praise_sender_id"))
        batch_op.drop_index(batch_op.f("ix_praise_created_at"))

    op.drop_table("praise")
    op.drop_table("dashboard_user")
    with op.batch_alter_table("dashboard_login_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_login_attempt_username"))
        batch_op.drop_index(batch_op.f("ix_dashboard_login_attempt_created_at"))

    op.drop_table("dashboard_login_attempt")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_state"))
        batch_op.drop_index(batch_op.f("ix_complaint_sender_id"))
        batch_op.drop_index(batch_op.f("ix_complaint_department"))
        batch_op.drop_index(batch_op.f("ix_complaint_created_at"))
        batch_op.drop_index(batch_op.f("ix_complaint_category"))

    op.drop_table("complaint")
    for enum_name in ("complaint_finding", "complaint_state"):
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
