"""Home visits: care teams, communities, nurses, patients, bookings, elderly care, hotline."""

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

# --- Home visits (服务管理制度6 出诊输液; 服务管理制度8 居家养老上门服务) -----------------


class HalfDay(str, enum.Enum):
    """A nurse's visits are planned by half-day; capacity is per nurse and half-day."""

    MORNING = "am"
    AFTERNOON = "pm"


class CareTeam(Base):
    """A team of the health centre that covers some communities (its nurses visit there)."""

    __tablename__ = "care_team"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    phone = Column(String(32), nullable=False, default="")
    is_demo = Column(Boolean, nullable=False, default=False)

    communities = relationship("Community", back_populates="team", order_by="Community.id")
    nurses = relationship("Nurse", back_populates="team", order_by="Nurse.id")

    def __repr__(self) -> str:
        return f"<CareTeam {self.code} {self.name}>"


class Community(Base):
    """A community (社区) the centre serves; an address naming one of its keywords is in it."""

    __tablename__ = "community"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    # Streets, estates and landmarks, separated by "、": 幸福小区、解放路、康乐苑 ...
    address_keywords = Column(Text, nullable=False, default="")
    team_id = Column(Integer, ForeignKey("care_team.id"), nullable=False, index=True)
    is_demo = Column(Boolean, nullable=False, default=False)

    team = relationship("CareTeam", back_populates="communities")

    @property
    def keywords(self) -> list[str]:
        return [word.strip() for word in self.address_keywords.split("、") if word.strip()]

    def __repr__(self) -> str:
        return f"<Community {self.code} {self.name}>"


class Nurse(Base):
    """A nurse of a team. A staff invite (role nurse) links the nurse to a chat sender."""

    __tablename__ = "nurse"

    id = Column(Integer, primary_key=True)
    team_id = Column(Integer, ForeignKey("care_team.id"), nullable=False, index=True)
    name = Column(String(32), nullable=False)
    phone = Column(String(32), nullable=False, unique=True)
    capacity_per_half_day = Column(Integer, nullable=False, default=3)
    # The invite that binds this nurse; the staff member who redeemed it is the nurse.
    invite_id = Column(Integer, ForeignKey("staff_invite.id", ondelete="SET NULL"), nullable=True)
    is_demo = Column(Boolean, nullable=False, default=False)

    team = relationship("CareTeam", back_populates="nurses")

    def __repr__(self) -> str:
        return f"<Nurse {self.id}>"


class Patient(Base):
    """A patient of the home-infusion service. Health data: shown to the booker and staff."""

    __tablename__ = "patient"

    id = Column(Integer, primary_key=True)
    name = Column(String(32), nullable=False)
    phone = Column(String(32), nullable=False, index=True)
    address = Column(String(200), nullable=False)
    community_id = Column(Integer, ForeignKey("community.id"), nullable=True)
    created_by = Column(String(128), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    community = relationship("Community")

    def __repr__(self) -> str:
        return f"<Patient {self.id}>"


class NurseSlot(Base):
    """How many visits a nurse has in a half-day. Booking raises `booked` only while it is
    below the nurse's capacity, in one conditional UPDATE: two requests for the last place
    cannot both win, on SQLite or PostgreSQL."""

    __tablename__ = "nurse_slot"
    __table_args__ = (UniqueConstraint("nurse_id", "visit_date", "half_day"),)

    id = Column(Integer, primary_key=True)
    nurse_id = Column(Integer, ForeignKey("nurse.id", ondelete="CASCADE"), nullable=False)
    visit_date = Column(Date, nullable=False, index=True)
    half_day = Column(Enum(HalfDay, name="half_day", values_callable=enum_values), nullable=False)
    booked = Column(Integer, nullable=False, default=0)

    def __repr__(self) -> str:
        return f"<NurseSlot {self.nurse_id} {self.visit_date} {self.half_day.value} {self.booked}>"


class BookingState(str, enum.Enum):
    """requested -> booked -> awaiting_consent -> consent_recorded -> done; or cancelled,
    refused. `bot.visits.booking.TRANSITIONS` says which moves are allowed."""

    REQUESTED = "requested"
    BOOKED = "booked"
    AWAITING_CONSENT = "awaiting_consent"
    CONSENT_RECORDED = "consent_recorded"
    DONE = "done"
    CANCELLED = "cancelled"
    REFUSED = "refused"


class HomeVisitBooking(Base):
    """A request for a home infusion (出诊输液) and, once eligible, its booked visit."""

    __tablename__ = "home_visit_booking"

    id = Column(Integer, primary_key=True)
    booking_no = Column(String(24), nullable=False, unique=True)
    # None for a request refused before any personal detail was asked (服务管理制度6 is
    # checked first): the refusal is kept, the family's details were never collected.
    patient_id = Column(Integer, ForeignKey("patient.id"), nullable=True, index=True)
    sender_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(16), nullable=False, default="")
    community_id = Column(Integer, ForeignKey("community.id"), nullable=True)
    nurse_id = Column(Integer, ForeignKey("nurse.id"), nullable=True, index=True)
    visit_date = Column(Date, nullable=True, index=True)
    half_day = Column(Enum(HalfDay, name="half_day", values_callable=enum_values), nullable=True)
    # What the patient said, and what the rules of 服务管理制度6 made of it.
    condition = Column(String(24), nullable=False)
    has_doctor_order = Column(Boolean, nullable=False)
    drug_text = Column(String(200), nullable=False)
    drug_names = Column(String(300), nullable=False, default="")
    drug_source = Column(String(24), nullable=False)
    first_dose_without_reaction = Column(Boolean, nullable=True)
    medical_record = Column(Boolean, nullable=True)  # an external drug's record (item 2)
    health = Column(String(24), nullable=True)  # allergies, contraindications (items 1, 3)
    # What the family reported, shown on the nurse's list: an external drug, its first
    # dose, the patient's allergies or conditions, in their words.
    family_notes = Column(String(300), nullable=False, default="")
    outcome = Column(String(16), nullable=False)
    reasons = Column(String(300), nullable=False, default="")
    review_note = Column(String(300), nullable=False, default="")
    state = Column(
        Enum(BookingState, name="booking_state", values_callable=enum_values),
        nullable=False,
        default=BookingState.REQUESTED,
    )
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
    # The request that made it (bot.infra.idempotency): a repeated confirmation finds this row.
    request_key = Column(String(64), nullable=True, unique=True)

    patient = relationship("Patient")
    community = relationship("Community")
    nurse = relationship("Nurse")
    events = relationship(
        "BookingEvent",
        back_populates="booking",
        order_by="BookingEvent.id",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<HomeVisitBooking {self.booking_no} {self.state.value}>"


class BookingEvent(Base):
    """One change of a booking's state: when, by whom (a sender id or a staff name), why."""

    __tablename__ = "booking_event"

    id = Column(Integer, primary_key=True)
    booking_id = Column(
        Integer, ForeignKey("home_visit_booking.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_state = Column(
        Enum(BookingState, name="booking_state", values_callable=enum_values), nullable=True
    )
    to_state = Column(
        Enum(BookingState, name="booking_state", values_callable=enum_values), nullable=False
    )
    actor = Column(String(128), nullable=False)
    note = Column(String(300), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    booking = relationship("HomeVisitBooking", back_populates="events")

    def __repr__(self) -> str:
        return f"<BookingEvent {self.booking_id} -> {self.to_state.value}>"


class ElderlyCareClient(Base):
    """The archive of an elderly person served at home (服务管理制度8 item 2): who, what
    service, when, where and who serves."""

    __tablename__ = "elderly_care_client"

    id = Column(Integer, primary_key=True)
    client_no = Column(String(24), nullable=False, unique=True)
    name = Column(String(32), nullable=False)
    phone = Column(String(32), nullable=False, index=True)
    address = Column(String(200), nullable=False)
    community_id = Column(Integer, ForeignKey("community.id"), nullable=False)
    service_items = Column(String(200), nullable=False)  # 助餐、助洁 ...
    service_times = Column(String(100), nullable=False, default="")
    caregiver = Column(String(64), nullable=False, default="")
    registered_by = Column(String(128), nullable=False, default="")
    registered_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # The last day the person is served; None while they are. The quarterly re-check
    # (服务管理制度8 item 1) recurs until then, and nothing is scheduled after it.
    ended_on = Column(Date, nullable=True)
    end_reason = Column(String(200), nullable=False, default="")
    is_demo = Column(Boolean, nullable=False, default=False)

    community = relationship("Community")
    visits = relationship(
        "ElderlyCareVisit", back_populates="client", order_by="ElderlyCareVisit.visit_date"
    )

    def __repr__(self) -> str:
        return f"<ElderlyCareClient {self.client_no}>"


class CareVisitKind(str, enum.Enum):
    SERVICE = "service"  # 上门服务
    FOLLOW_UP = "follow_up"  # 定期回访 (服务管理制度8 item 4)
    RECHECK = "recheck"  # 每季度核实一次 (服务管理制度8 item 1), also a 回访 (item 4)


class CareVisitState(str, enum.Enum):
    SCHEDULED = "scheduled"
    DONE = "done"
    CANCELLED = "cancelled"


class ElderlyCareVisit(Base):
    """A home elderly-care service visit, or one of the centre's follow-up visits."""

    __tablename__ = "elderly_care_visit"

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("elderly_care_client.id", ondelete="CASCADE"), nullable=False
    )
    kind = Column(
        Enum(CareVisitKind, name="care_visit_kind", values_callable=enum_values), nullable=False
    )
    visit_date = Column(Date, nullable=False, index=True)
    half_day = Column(Enum(HalfDay, name="half_day", values_callable=enum_values), nullable=False)
    service_items = Column(String(200), nullable=False, default="")
    state = Column(
        Enum(CareVisitState, name="care_visit_state", values_callable=enum_values),
        nullable=False,
        default=CareVisitState.SCHEDULED,
    )
    notes = Column(String(300), nullable=False, default="")
    created_by = Column(String(128), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    client = relationship("ElderlyCareClient", back_populates="visits")

    def __repr__(self) -> str:
        return f"<ElderlyCareVisit {self.client_id} {self.kind.value} {self.visit_date}>"


class HotlineCall(Base):
    """A call to the home elderly-care hotline (服务管理制度8 item 3)."""

    __tablename__ = "hotline_call"

    id = Column(Integer, primary_key=True)
    caller_name = Column(String(32), nullable=False, default="")
    caller_phone = Column(String(32), nullable=False, default="")
    topic = Column(String(64), nullable=False)
    notes = Column(String(500), nullable=False, default="")
    client_id = Column(
        Integer, ForeignKey("elderly_care_client.id", ondelete="SET NULL"), nullable=True
    )
    received_by = Column(String(64), nullable=False, default="")
    received_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<HotlineCall {self.id} {self.topic}>"
