"""Gas customers: business halls, accounts, meters, readings, bills, payments, bindings,
meter fault reports and arrears reminders.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "business_hall",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("opening_hours", sa.String(length=128), nullable=False),
        sa.Column("services", sa.Text(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_hall")),
        sa.UniqueConstraint("code", name=op.f("uq_business_hall_code")),
    )
    op.create_table(
        "gas_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_no", sa.String(length=16), nullable=False),
        sa.Column("holder_name", sa.String(length=64), nullable=False),
        sa.Column(
            "kind", sa.Enum("residential", "commercial", name="gas_account_kind"), nullable=False
        ),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("business_hall_id", sa.Integer(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_hall_id"],
            ["business_hall.id"],
            name=op.f("fk_gas_account_business_hall_id_business_hall"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gas_account")),
        sa.UniqueConstraint("account_no", name=op.f("uq_gas_account_account_no")),
    )
    op.create_table(
        "arrears_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("arrears_fen", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["gas_account.id"],
            name=op.f("fk_arrears_reminder_account_id_gas_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrears_reminder")),
        sa.UniqueConstraint("account_id", "period", name=op.f("uq_arrears_reminder_account_id")),
    )
    op.create_table(
        "gas_account_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reminders_enabled", sa.Boolean(), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["gas_account.id"],
            name=op.f("fk_gas_account_binding_account_id_gas_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gas_account_binding")),
        sa.UniqueConstraint("account_id", name=op.f("uq_gas_account_binding_account_id")),
    )
    with op.batch_alter_table("gas_account_binding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gas_account_binding_sender_id"), ["sender_id"], unique=False
        )

    op.create_table(
        "gas_bill",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("usage_m3", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("tiers", sa.Text(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["gas_account.id"],
            name=op.f("fk_gas_bill_account_id_gas_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gas_bill")),
        sa.UniqueConstraint("account_id", "period", name=op.f("uq_gas_bill_account_id")),
    )
    with op.batch_alter_table("gas_bill", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gas_bill_account_id"), ["account_id"], unique=False)

    op.create_table(
        "gas_meter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("meter_no", sa.String(length=32), nullable=False),
        sa.Column("location", sa.Enum("outdoor", "indoor", name="meter_location"), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("installed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["gas_account.id"],
            name=op.f("fk_gas_meter_account_id_gas_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gas_meter")),
        sa.UniqueConstraint("meter_no", name=op.f("uq_gas_meter_meter_no")),
    )
    with op.batch_alter_table("gas_meter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gas_meter_account_id"), ["account_id"], unique=False)

    op.create_table(
        "gas_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["gas_account.id"],
            name=op.f("fk_gas_payment_account_id_gas_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gas_payment")),
        sa.UniqueConstraint("reference", name=op.f("uq_gas_payment_reference")),
    )
    with op.batch_alter_table("gas_payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gas_payment_account_id"), ["account_id"], unique=False)

    op.create_table(
        "meter_fault_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_no", sa.String(length=24), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("fast", "slow", "stopped", "other", name="meter_fault_kind"),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column(
            "state", sa.Enum("open", "in_progress", "resolved", name="fault_state"), nullable=False
        ),
        sa.Column("resolution", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["gas_account.id"],
            name=op.f("fk_meter_fault_report_account_id_gas_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_fault_report")),
        sa.UniqueConstraint("ticket_no", name=op.f("uq_meter_fault_report_ticket_no")),
    )
    with op.batch_alter_table("meter_fault_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meter_fault_report_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "meter_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("read_on", sa.Date(), nullable=False),
        sa.Column("reading", sa.Integer(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["gas_meter.id"],
            name=op.f("fk_meter_reading_meter_id_gas_meter"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_reading")),
        sa.UniqueConstraint("meter_id", "read_on", name=op.f("uq_meter_reading_meter_id")),
    )


def downgrade() -> None:
    op.drop_table("meter_reading")
    with op.batch_alter_table("meter_fault_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meter_fault_report_account_id"))

    op.drop_table("meter_fault_report")
    with op.batch_alter_table("gas_payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gas_payment_account_id"))

    op.drop_table("gas_payment")
    with op.batch_alter_table("gas_meter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gas_meter_account_id"))

    op.drop_table("gas_meter")
    with op.batch_alter_table("gas_bill", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gas_bill_account_id"))

    op.drop_table("gas_bill")
    with op.batch_alter_table("gas_account_binding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gas_account_binding_sender_id"))

    op.drop_table("gas_account_binding")
    op.drop_table("arrears_reminder")
    op.drop_table("gas_account")
    op.drop_table("business_hall")
    for enum_name in ("fault_state", "meter_fault_kind", "meter_location", "gas_account_kind"):
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
