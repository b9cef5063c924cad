"""Home visits: care teams, communities, nurses and their half-day slots, patients,
home-infusion bookings with their state changes, the elderly-care archive and visits,
and the elderly-care hotline log.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "care_team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_team")),
        sa.UniqueConstraint("code", name=op.f("uq_care_team_code")),
    )
    op.create_table(
        "community",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("address_keywords", sa.Text(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["care_team.id"], name=op.f("fk_community_team_id_care_team")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community")),
        sa.UniqueConstraint("code", name=op.f("uq_community_code")),
    )
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_community_team_id"), ["team_id"], unique=False)

    op.create_table(
        "nurse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("capacity_per_half_day", sa.Integer(), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["staff_invite.id"],
            name=op.f("fk_nurse_invite_id_staff_invite"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["care_team.id"], name=op.f("fk_nurse_team_id_care_team")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nurse")),
        sa.UniqueConstraint("phone", name=op.f("uq_nurse_phone")),
    )
    with op.batch_alter_table("nurse", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nurse_team_id"), ["team_id"], unique=False)

    op.create_table(
        "elderly_care_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_no", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("service_items", sa.String(length=200), nullable=False),
        sa.Column("service_times", sa.String(length=100), nullable=False),
        sa.Column("caregiver", sa.String(length=64), nullable=False),
        sa.Column("registered_by", sa.String(length=128), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_elderly_care_client_community_id_community"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elderly_care_client")),
        sa.UniqueConstraint("client_no", name=op.f("uq_elderly_care_client_client_no")),
    )
    with op.batch_alter_table("elderly_care_client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_elderly_care_client_phone"), ["phone"], unique=False)

    op.create_table(
        "nurse_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nurse_id", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("half_day", sa.Enum("am", "pm", name="half_day"), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["nurse_id"],
            ["nurse.id"],
            name=op.f("fk_nurse_slot_nurse_id_nurse"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nurse_slot")),
        sa.UniqueConstraint(
            "nurse_id", "visit_date", "half_day", name=op.f("uq_nurse_slot_nurse_id")
        ),
    )
    with op.batch_alter_table("nurse_slot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nurse_slot_visit_date"), ["visit_date"], unique=False)

    op.create_table(
        "patient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_patient_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient")),
    )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_phone"), ["phone"], unique=False)

    op.create_table(
        "elderly_care_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("service", "follow_up", name="care_visit_kind"), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("half_day", sa.Enum("am", "pm", name="half_day"), nullable=False),
        sa.Column("service_items", sa.String(length=200), nullable=False),
        sa.Column(
            "state",
            sa.Enum("scheduled", "done", "cancelled", name="care_visit_state"),
            nullable=False,
        ),
        sa.Column("notes", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["elderly_care_client.id"],
            name=op.f("fk_elderly_care_visit_client_id_elderly_care_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elderly_care_visit")),
    )
    with op.batch_alter_table("elderly_care_visit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_elderly_care_visit_visit_date"), ["visit_date"], unique=False
        )

    op.create_table(
        "home_visit_booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_no", sa.String(length=24), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("visit_date", sa.Date(), nullable=True),
        sa.Column("half_day", sa.Enum("am", "pm", name="half_day"), nullable=True),
        sa.Column("condition", sa.String(length=24), nullable=False),
        sa.Column("has_doctor_order", sa.Boolean(), nullable=False),
        sa.Column("drug_text", sa.String(length=200), nullable=False),
        sa.Column("drug_names", sa.String(length=300), nullable=False),
        sa.Column("drug_source", sa.String(length=24), nullable=False),
        sa.Column("first_dose_without_reaction", sa.Boolean(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.String(length=300), nullable=False),
        sa.Column("review_note", sa.String(length=300), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "requested",
                "booked",
                "awaiting_consent",
                "consent_recorded",
                "done",
                "cancelled",
                "refused",
                name="booking_state",
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_home_visit_booking_community_id_community"),
        ),
        sa.ForeignKeyConstraint(
            ["nurse_id"], ["nurse.id"], name=op.f("fk_home_visit_booking_nurse_id_nurse")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_home_visit_booking_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_home_visit_booking")),
        sa.UniqueConstraint("booking_no", name=op.f("uq_home_visit_booking_booking_no")),
    )
    with op.batch_alter_table("home_visit_booking", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_home_visit_booking_nurse_id"), ["nurse_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_home_visit_booking_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_home_visit_booking_sender_id"), ["sender_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_home_visit_booking_visit_date"), ["visit_date"], unique=False
        )

    op.create_table(
        "hotline_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("caller_name", sa.String(length=32), nullable=False),
        sa.Column("caller_phone", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("notes", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["elderly_care_client.id"],
            name=op.f("fk_hotline_call_client_id_elderly_care_client"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotline_call")),
    )
    op.create_table(
        "booking_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_state",
            sa.Enum(
                "requested",
                "booked",
                "awaiting_consent",
                "consent_recorded",
                "done",
                "cancelled",
                "refused",
                name="booking_state",
            ),
            nullable=True,
        ),
        sa.Column(
            "to_state",
            sa.Enum(
                "requested",
                "booked",
                "awaiting_consent",
                "consent_recorded",
                "done",
                "cancelled",
                "refused",
                name="booking_state",
            ),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["home_visit_booking.id"],
            name=op.f("fk_booking_event_booking_id_home_visit_booking"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_event")),
    )
    with op.batch_alter_table("booking_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_booking_event_booking_id"), ["booking_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("booking_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_event_booking_id"))

    op.drop_table("booking_event")
    op.drop_table("hotline_call")
    with op.batch_alter_table("home_visit_booking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_home_visit_booking_visit_date"))
        batch_op.drop_index(batch_op.f("ix_home_visit_booking_sender_id"))
        batch_op.drop_index(batch_op.f("ix_home_visit_booking_patient_id"))
        batch_op.drop_index(batch_op.f("ix_home_visit_booking_nurse_id"))

    op.drop_table("home_visit_booking")
    with op.batch_alter_table("elderly_care_visit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_elderly_care_visit_visit_date"))

    op.drop_table("elderly_care_visit")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_phone"))

    op.drop_table("patient")
    with op.batch_alter_table("nurse_slot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nurse_slot_visit_date"))

    op.drop_table("nurse_slot")
    with op.batch_alter_table("elderly_care_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_elderly_care_client_phone"))

    op.drop_table("elderly_care_client")
    with op.batch_alter_table("nurse", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nurse_team_id"))

    op.drop_table("nurse")
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_team_id"))

    op.drop_table("community")
    op.drop_table("care_team")
    for enum_name in ("care_visit_state", "care_visit_kind", "booking_state", "half_day"):
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
