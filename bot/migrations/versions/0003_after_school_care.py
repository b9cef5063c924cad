"""After-school care: schools, calendar, classes, teachers, students, guardians, leaves.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guardian",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardian")),
    )
    with op.batch_alter_table("guardian", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guardian_phone"), ["phone"], unique=False)

    op.create_table(
        "school",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("care_start", sa.Time(), nullable=False),
        sa.Column("care_end", sa.Time(), nullable=False),
        sa.Column("leave_cutoff_minutes", sa.Integer(), nullable=False),
        sa.Column("care_weekdays", sa.String(length=7), nullable=False),
        sa.Column("office_phone", sa.String(length=32), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school")),
        sa.UniqueConstraint("code", name=op.f("uq_school_code")),
    )
    op.create_table(
        "school_calendar_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("has_care", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["school.id"],
            name=op.f("fk_school_calendar_day_school_id_school"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_calendar_day")),
        sa.UniqueConstraint("school_id", "day", name=op.f("uq_school_calendar_day_school_id")),
    )
    op.create_table(
        "teacher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("staff_member_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["school.id"],
            name=op.f("fk_teacher_school_id_school"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_member_id"],
            ["staff_member.id"],
            name=op.f("fk_teacher_staff_member_id_staff_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teacher")),
        sa.UniqueConstraint("staff_member_id", name=op.f("uq_teacher_staff_member_id")),
    )
    op.create_table(
        "school_class",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("head_teacher_id", sa.Integer(), nullable=True),
        sa.Column("care_teacher_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["care_teacher_id"],
            ["teacher.id"],
            name=op.f("fk_school_class_care_teacher_id_teacher"),
        ),
        sa.ForeignKeyConstraint(
            ["head_teacher_id"],
            ["teacher.id"],
            name=op.f("fk_school_class_head_teacher_id_teacher"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["school.id"],
            name=op.f("fk_school_class_school_id_school"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_class")),
        sa.UniqueConstraint("school_id", "name", name=op.f("uq_school_class_school_id")),
    )
    op.create_table(
        "student",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_no", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"], ["school_class.id"], name=op.f("fk_student_class_id_school_class")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_student")),
        sa.UniqueConstraint("student_no", name=op.f("uq_student_student_no")),
    )
    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_student_class_id"), ["class_id"], unique=False)

    op.create_table(
        "care_enrollment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_care_enrollment_student_id_student"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_enrollment")),
    )
    op.create_table(
        "guardian_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("guardian_id", sa.Integer(), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["guardian.id"],
            name=op.f("fk_guardian_binding_guardian_id_guardian"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_guardian_binding_student_id_student"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardian_binding")),
        sa.UniqueConstraint("sender_id", "student_id", name=op.f("uq_guardian_binding_sender_id")),
    )
    with op.batch_alter_table("guardian_binding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_guardian_binding_sender_id"), ["sender_id"], unique=False
        )

    op.create_table(
        "leave_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("care_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("state", sa.Enum("requested", "cancelled", name="leave_state"), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_leave_request_student_id_student"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leave_request")),
    )
    with op.batch_alter_table("leave_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leave_request_care_date"), ["care_date"], unique=False)
        batch_op.create_index(
            "uq_leave_request_live",
            ["student_id", "care_date"],
            unique=True,
            postgresql_where=sa.text("state = 'requested'"),
            sqlite_where=sa.text("state = 'requested'"),
        )

    op.create_table(
        "student_guardian",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("guardian_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["guardian.id"],
            name=op.f("fk_student_guardian_guardian_id_guardian"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["student.id"],
            name=op.f("fk_student_guardian_student_id_student"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_student_guardian")),
        sa.UniqueConstraint(
            "student_id", "guardian_id", name=op.f("uq_student_guardian_student_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("student_guardian")
    with op.batch_alter_table("leave_request", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_leave_request_live",
            postgresql_where=sa.text("state = 'requested'"),
            sqlite_where=sa.text("state = 'requested'"),
        )
        batch_op.drop_index(batch_op.f("ix_leave_request_care_date"))

    op.drop_table("leave_request")
    with op.batch_alter_table("guardian_binding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guardian_binding_sender_id"))

    op.drop_table("guardian_binding")
    op.drop_table("care_enrollment")
    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_student_class_id"))

    op.drop_table("student")
    op.drop_table("school_class")
    op.drop_table("teacher")
    op.drop_table("school_calendar_day")
    op.drop_table("school")
    with op.batch_alter_table("guardian", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guardian_phone"))

    op.drop_table("guardian")
    sa.Enum(name="leave_state").drop(op.get_bind(), checkfirst=True)
