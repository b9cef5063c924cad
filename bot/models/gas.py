"""Gas customers: halls, accounts, meters, readings, bills, payments and fault reports."""

from __future__ import annotations

import enum

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from bot.models.base import Base, enum_values, utcnow

# --- Gas customers (服务管理制度7: 抄表、收费、营业大厅管理制度) --------------------------
# Money is stored in fen (分) and gas in whole cubic metres, as meters are billed.


class BusinessHall(Base):
    """A gas business hall (营业厅): where customers open accounts, pay and top up IC cards."""

    __tablename__ = "business_hall"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    address = Column(String(128), nullable=False)
    phone = Column(String(32), nullable=False, default="")
    opening_hours = Column(String(128), nullable=False, default="")
    services = Column(Text, nullable=False, default="")
    is_demo = Column(Boolean, nullable=False, default=False)

    def __repr__(self) -> str:
        return f"<BusinessHall {self.code} {self.name}>"


class GasAccountKind(str, enum.Enum):
    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"


class MeterLocation(str, enum.Enum):
    """Where the meter hangs; indoor residential meters are read quarterly (抄表管理制度 4)."""

    OUTDOOR = "outdoor"
    INDOOR = "indoor"


class GasAccount(Base):
    """A gas customer account (户号). Customer data: shown only to the bound sender."""

    __tablename__ = "gas_account"

    id = Column(Integer, primary_key=True)
    account_no = Column(String(16), nullable=False, unique=True)
    holder_name = Column(String(64), nullable=False)
    kind = Column(
        Enum(GasAccountKind, name="gas_account_kind", values_callable=enum_values),
        nullable=False,
    )
    address = Column(String(128), nullable=False)
    phone = Column(String(32), nullable=False)
    business_hall_id = Column(Integer, ForeignKey("business_hall.id"), nullable=True)
    opened_on = Column(Date, nullable=True)
    is_demo = Column(Boolean, nullable=False, default=False)

    business_hall = relationship("BusinessHall")
    meters = relationship("GasMeter", back_populates="account", order_by="GasMeter.id")

    def __repr__(self) -> str:
        return f"<GasAccount {self.id} {self.kind.value}>"


class GasMeter(Base):
    __tablename__ = "gas_meter"

    id = Column(Integer, primary_key=True)
    account_id = Column(
        Integer, ForeignKey("gas_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    meter_no = Column(String(32), nullable=False, unique=True)
    location = Column(
        Enum(MeterLocation, name="meter_location", values_callable=enum_values),
        nullable=False,
        default=MeterLocation.OUTDOOR,
    )
    model = Column(String(32), nullable=False, default="")
    installed_on = Column(Date, nullable=True)

    account = relationship("GasAccount", back_populates="meters")
    readings = relationship("MeterReading", back_populates="meter", order_by="MeterReading.read_on")

    def __repr__(self) -> str:
        return f"<GasMeter {self.meter_no}>"


class MeterReading(Base):
    """A meter reading in whole m³. `estimated` keeps the flag of an imported row that was
    not read on site; such a reading is never shown or counted (抄表管理制度 第3条: 杜绝估抄)."""

    __tablename__ = "meter_reading"
    __table_args__ = (UniqueConstraint("meter_id", "read_on"),)

    id = Column(Integer, primary_key=True)
    meter_id = Column(Integer, ForeignKey("gas_meter.id", ondelete="CASCADE"), nullable=False)
    read_on = Column(Date, nullable=False)
    reading = Column(Integer, nullable=False)
    estimated = Column(Boolean, nullable=False, default=False)

    meter = relationship("GasMeter", back_populates="readings")

    def __repr__(self) -> str:
        return f"<MeterReading {self.meter_id} {self.read_on}>"


class GasBill(Base):
    """One month's bill; `tiers` is the JSON list of tier charges behind `amount_fen`."""

    __tablename__ = "gas_bill"
    __table_args__ = (UniqueConstraint("account_id", "period"),)

    id = Column(Integer, primary_key=True)
    account_id = Column(
        Integer, ForeignKey("gas_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    period = Column(String(7), nullable=False)  # YYYY-MM
    usage_m3 = Column(Integer, nullable=False)
    amount_fen = Column(Integer, nullable=False)
    tiers = Column(Text, nullable=False, default="[]")
    issued_on = Column(Date, nullable=False)
    due_on = Column(Date, nullable=False)

    def __repr__(self) -> str:
        return f"<GasBill {self.account_id} {self.period}>"


class GasPayment(Base):
    __tablename__ = "gas_payment"

    id = Column(Integer, primary_key=True)
    account_id = Column(
        Integer, ForeignKey("gas_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    paid_on = Column(Date, nullable=False)
    amount_fen = Column(Integer, nullable=False)
    channel = Column(String(32), nullable=False, default="")
    reference = Column(String(64), nullable=True, unique=True)

    def __repr__(self) -> str:
        return f"<GasPayment {self.account_id} {self.paid_on}>"


class GasAccountBinding(Base):
    """A chat sender verified as the customer of an account; one sender per account."""

    __tablename__ = "gas_account_binding"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    account_id = Column(
        Integer, ForeignKey("gas_account.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    channel = Column(String(16), nullable=False, default="")
    reminders_enabled = Column(Boolean, nullable=False, default=False)
    bound_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    account = relationship("GasAccount")

    def __repr__(self) -> str:
        return f"<GasAccountBinding {self.account_id}>"


class MeterFaultKind(str, enum.Enum):
    """The anomalies 抄表管理制度 7 names: fast, slow, stopped; and anything else."""

    FAST = "fast"
    SLOW = "slow"
    STOPPED = "stopped"
    OTHER = "other"


class FaultState(str, enum.Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


class MeterFaultReport(Base):
    __tablename__ = "meter_fault_report"

    id = Column(Integer, primary_key=True)
    ticket_no = Column(String(24), nullable=False, unique=True)
    account_id = Column(
        Integer, ForeignKey("gas_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    sender_id = Column(String(128), nullable=False)
    kind = Column(
        Enum(MeterFaultKind, name="meter_fault_kind", values_callable=enum_values),
        nullable=False,
    )
    description = Column(String(500), nullable=False, default="")
    state = Column(
        Enum(FaultState, name="fault_state", values_callable=enum_values),
        nullable=False,
        default=FaultState.OPEN,
    )
    resolution = Column(String(500), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    account = relationship("GasAccount")

    def __repr__(self) -> str:
        return f"<MeterFaultReport {self.ticket_no} {self.state.value}>"


class ArrearsReminder(Base):
    """A reminder (催缴) sent for an account's arrears; at most one per billing period."""

    __tablename__ = "arrears_reminder"
    __table_args__ = (UniqueConstraint("account_id", "period"),)

    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("gas_account.id", ondelete="CASCADE"), nullable=False)
    period = Column(String(7), nullable=False)
    sender_id = Column(String(128), nullable=False)
    channel = Column(String(16), nullable=False, default="")
    arrears_fen = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False)
    detail = Column(String(200), nullable=False, default="")
    sent_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<ArrearsReminder {self.account_id} {self.period} {self.status}>"
