"""Database models. Schema changes are Alembic migrations in `bot/migrations/versions/`."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeMeta, registry, relationship

from bot import text_safety
from bot.organisation import get_organisation

# Named constraints keep migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

mapper_registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Base(metaclass=DeclarativeMeta):
    """Declarative base; written out so type checkers see a class (SQLAlchemy 1.4)."""

    __abstract__ = True
    registry = mapper_registry
    metadata = mapper_registry.metadata
    __init__ = mapper_registry.constructor


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Audience(str, enum.Enum):
    """Who may be answered from a regulation."""

    PUBLIC = "public"
    STAFF = "staff"


class PolicyDocument(Base):
    """One regulation (a 服务管理制度 or a sub-regulation inside one)."""

    __tablename__ = "policy_document"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, unique=True)
    source = Column(String(64), nullable=False)
    title = Column(String(128), nullable=False)
    audience = Column(
        Enum(Audience, name="audience", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    department = Column(String(32), nullable=False)
    ordinal = Column(Integer, nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)

    clauses = relationship(
        "PolicyClause",
        back_populates="document",
        order_by="PolicyClause.ordinal",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<PolicyDocument {self.code} {self.title} ({self.audience.value})>"


class PolicyClause(Base):
    """One numbered clause of a regulation, the unit that policy answers quote."""

    __tablename__ = "policy_clause"
    __table_args__ = (UniqueConstraint("document_id", "ordinal"),)

    id = Column(Integer, primary_key=True)
    document_id = Column(
        Integer, ForeignKey("policy_document.id", ondelete="CASCADE"), nullable=False, index=True
    )
    ordinal = Column(Integer, nullable=False)
    number = Column(String(32), nullable=False)
    label = Column(String(64), nullable=False)
    heading = Column(String(128), nullable=False, default="")
    text = Column(Text, nullable=False)
    # The clause's sentence embedding (bot.policies.semantic) and the model that made it;
    # empty when the model was not installed when the regulations were stored.
    embedding = Column(LargeBinary, nullable=True)
    embedding_model = Column(String(64), nullable=True)

    document = relationship("PolicyDocument", back_populates="clauses")

    @property
    def citation(self) -> str:
        """E.g. 《饮用水消毒制度》(服务管理制度3) 第二条第2款."""
        return f"《{self.document.title}》({self.document.source}) {self.label}"

    def __repr__(self) -> str:
        return f"<PolicyClause {self.document_id}:{self.label}>"


class Department(Base):
    """A service department customers can be referred to (who to ask, where, when)."""

    __tablename__ = "department"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    services = Column(Text, nullable=False, default="")
    phone = Column(String(32), nullable=False, default="")
    address = Column(String(128), nullable=False, default="")
    opening_hours = Column(String(128), nullable=False, default="")
    # A line answered day and night, for emergencies (the gas utility's 抢修电话).
    emergency_phone = Column(String(32), nullable=False, default="", server_default="")
    is_demo = Column(Boolean, nullable=False, default=False)

    def __repr__(self) -> str:
        return f"<Department {self.code} {self.name}>"


class StaffRole(str, enum.Enum):
    """What a bound staff member is; every role may read staff-only regulations."""

    STAFF = "staff"
    TEACHER = "teacher"
    NURSE = "nurse"
    SUPERVISOR = "supervisor"


def _enum_values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


class StaffInvite(Base):
    """A one-time code an administrator gives a staff member to bind their chat identity."""

    __tablename__ = "staff_invite"

    id = Column(Integer, primary_key=True)
    code_hash = Column(String(64), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    role = Column(Enum(StaffRole, name="staff_role", values_callable=_enum_values), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    used_at = Column(DateTime(timezone=True), nullable=True)
    used_by = Column(String(128), nullable=True)
    # For a teacher: the teacher record the binding links to, so they see their leaves.
    teacher_id = Column(Integer, ForeignKey("teacher.id", ondelete="SET NULL"), nullable=True)

    def __repr__(self) -> str:
        return f"<StaffInvite {self.id} {self.role.value} used={self.used_at is not None}>"


class StaffMember(Base):
    """A chat sender bound to a staff role by redeeming an invite."""

    __tablename__ = "staff_member"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    role = Column(Enum(StaffRole, name="staff_role", values_callable=_enum_values), nullable=False)
    invite_id = Column(Integer, ForeignKey("staff_invite.id", ondelete="SET NULL"), nullable=True)
    bound_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<StaffMember {self.role.value} {self.name}>"


class BindingAttempt(Base):
    """One attempt to bind a sender to a record (staff code, gas account, student); also
    staff lifting a target's lock-out (reason `unlocked`)."""

    __tablename__ = "binding_attempt"
    __table_args__ = (Index("ix_binding_attempt_kind_target", "kind", "target"),)

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    # The 户号 or 学号 the attempt named (known or not): lock-outs per target.
    target = Column(String(32), nullable=True)
    succeeded = Column(Boolean, nullable=False)
    reason = Column(String(32), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<BindingAttempt {self.kind} ok={self.succeeded}>"


# --- After-school care (服务管理制度5, 课后服务安全管理制度) ---------------------------


class School(Base):
    """A school running after-school care, with its own times and leave cutoff."""

    __tablename__ = "school"

    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    care_start = Column(Time, nullable=False)
    care_end = Column(Time, nullable=False)
    # A leave for day D is accepted until this many minutes before care starts on D (the
    # school's setting; the regulation only says "in advance"); a school stored without
    # its own value takes the organisation's default (data/organisation.yml).
    leave_cutoff_minutes = Column(
        Integer,
        nullable=False,
        default=lambda: get_organisation().school.default_leave_cutoff_minutes,
    )
    # ISO weekdays with care, e.g. "12345" for Monday to Friday.
    care_weekdays = Column(String(7), nullable=False, default="12345")
    office_phone = Column(String(32), nullable=False, default="")
    is_demo = Column(Boolean, nullable=False, default=False)

    classes = relationship("SchoolClass", back_populates="school", order_by="SchoolClass.name")
    calendar = relationship("SchoolCalendarDay", back_populates="school")

    def __repr__(self) -> str:
        return f"<School {self.code} {self.name}>"


class SchoolCalendarDay(Base):
    """An exception to the weekly pattern: a holiday without care, or a make-up care day."""

    __tablename__ = "school_calendar_day"
    __table_args__ = (UniqueConstraint("school_id", "day"),)

    id = Column(Integer, primary_key=True)
    school_id = Column(Integer, ForeignKey("school.id", ondelete="CASCADE"), nullable=False)
    day = Column(Date, nullable=False)
    has_care = Column(Boolean, nullable=False)
    name = Column(String(64), nullable=False, default="")

    school = relationship("School", back_populates="calendar")

    def __repr__(self) -> str:
        return f"<SchoolCalendarDay {self.day} care={self.has_care}>"


class Teacher(Base):
    """A teacher; bound in chat through a staff invite (role teacher) to see leaves."""

    __tablename__ = "teacher"

    id = Column(Integer, primary_key=True)
    school_id = Column(Integer, ForeignKey("school.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(32), nullable=False)
    phone = Column(String(32), nullable=False, default="")
    staff_member_id = Column(
        Integer, ForeignKey("staff_member.id", ondelete="SET NULL"), nullable=True, unique=True
    )

    def __repr__(self) -> str:
        return f"<Teacher {self.id}>"


class SchoolClass(Base):
    """A class, with its head teacher (班主任) and its care teacher (看护老师)."""

    __tablename__ = "school_class"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id = Column(Integer, primary_key=True)
    school_id = Column(Integer, ForeignKey("school.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(32), nullable=False)
    head_teacher_id = Column(Integer, ForeignKey("teacher.id"), nullable=True)
    care_teacher_id = Column(Integer, ForeignKey("teacher.id"), nullable=True)

    school = relationship("School", back_populates="classes")
    head_teacher = relationship("Teacher", foreign_keys=[head_teacher_id])
    care_teacher = relationship("Teacher", foreign_keys=[care_teacher_id])
    students = relationship("Student", back_populates="school_class")

    def __repr__(self) -> str:
        return f"<SchoolClass {self.name}>"


class Student(Base):
    """A pupil. Children's data: shown only to bound guardians and their teachers."""

    __tablename__ = "student"

    id = Column(Integer, primary_key=True)
    student_no = Column(String(32), nullable=False, unique=True)
    name = Column(String(32), nullable=False)
    class_id = Column(Integer, ForeignKey("school_class.id"), nullable=False, index=True)

    school_class = relationship("SchoolClass", back_populates="students")
    enrollments = relationship("CareEnrollment", back_populates="student")
    guardians = relationship("StudentGuardian", back_populates="student")

    def __repr__(self) -> str:
        return f"<Student {self.id}>"


class CareEnrollment(Base):
    """A student's participation in after-school care (voluntary, 制度5 3(1))."""

    __tablename__ = "care_enrollment"

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    starts_on = Column(Date, nullable=False)
    ends_on = Column(Date, nullable=True)

    student = relationship("Student", back_populates="enrollments")

    def __repr__(self) -> str:
        return f"<CareEnrollment {self.student_id} {self.starts_on}-{self.ends_on}>"


class Guardian(Base):
    """A parent or other guardian, identified by the phone number the school has on file."""

    __tablename__ = "guardian"

    id = Column(Integer, primary_key=True)
    name = Column(String(32), nullable=False)
    phone = Column(String(32), nullable=False, index=True)

    def __repr__(self) -> str:
        return f"<Guardian {self.id}>"


class StudentGuardian(Base):
    __tablename__ = "student_guardian"
    __table_args__ = (UniqueConstraint("student_id", "guardian_id"),)

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    guardian_id = Column(Integer, ForeignKey("guardian.id", ondelete="CASCADE"), nullable=False)
    relation = Column(String(16), nullable=False, default="家长")

    student = relationship("Student", back_populates="guardians")
    guardian = relationship("Guardian")


class GuardianBinding(Base):
    """A chat sender verified as a guardian of one student."""

    __tablename__ = "guardian_binding"
    __table_args__ = (UniqueConstraint("sender_id", "student_id"),)

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    guardian_id = Column(Integer, ForeignKey("guardian.id", ondelete="CASCADE"), nullable=False)
    bound_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    student = relationship("Student")
    guardian = relationship("Guardian")


class LeaveState(str, enum.Enum):
    REQUESTED = "requested"
    CANCELLED = "cancelled"


class LeaveRequest(Base):
    """A day's leave from after-school care, requested in advance (课后服务安全管理制度 item 12)."""

    __tablename__ = "leave_request"
    __table_args__ = (
        # One live leave per student and day: a repeated request is the same leave.
        Index(
            "uq_leave_request_live",
            "student_id",
            "care_date",
            unique=True,
            postgresql_where=text("state = 'requested'"),
            sqlite_where=text("state = 'requested'"),
        ),
    )

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    care_date = Column(Date, nullable=False, index=True)
    reason = Column(String(200), nullable=False, default="")
    state = Column(
        Enum(LeaveState, name="leave_state", values_callable=_enum_values),
        nullable=False,
        default=LeaveState.REQUESTED,
    )
    requested_by = Column(String(128), nullable=False)
    channel = Column(String(16), nullable=False, default="")
    requested_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    cancelled_at = Column(DateTime(timezone=True), nullable=True)
    cancelled_by = Column(String(128), nullable=True)

    student = relationship("Student")

    def __repr__(self) -> str:
        return f"<LeaveRequest {self.student_id} {self.care_date} {self.state.value}>"


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
        Enum(GasAccountKind, name="gas_account_kind", values_callable=_enum_values),
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
        Enum(MeterLocation, name="meter_location", values_callable=_enum_values),
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
        Enum(MeterFaultKind, name="meter_fault_kind", values_callable=_enum_values),
        nullable=False,
    )
    description = Column(String(500), nullable=False, default="")
    state = Column(
        Enum(FaultState, name="fault_state", values_callable=_enum_values),
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


# --- Complaints and praise (服务流程管理制度; 营业大厅管理制度 三、7, 12; 制度7 item 7; 制度10) -
# Departments and categories are codes from data/complaints/catalog.yml, so that a new
# category needs no migration.


class ComplaintState(str, enum.Enum):
    """new → assigned → in_progress → resolved → closed (see bot.complaints.workflow)."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class ComplaintFinding(str, enum.Enum):
    """A supervisor's finding on a complaint: 属实 or 不属实."""

    SUBSTANTIATED = "substantiated"
    UNSUBSTANTIATED = "unsubstantiated"


class Complaint(Base):
    """A complaint (投诉) with its ticket number, reviewed by a supervisor until closed.

    `version` is checked on every update (optimistic concurrency): of two supervisors
    changing the same complaint at once, the second is told it changed.
    """

    __tablename__ = "complaint"

    id = Column(Integer, primary_key=True)
    ticket_no = Column(String(24), nullable=False, unique=True)
    sender_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(16), nullable=False, default="")
    department = Column(String(16), nullable=False, index=True)
    category = Column(String(16), nullable=False, index=True)
    description = Column(Text, nullable=False)
    occurred = Column(String(200), nullable=False, default="")
    staff_involved = Column(String(100), nullable=False, default="")
    contact = Column(String(100), nullable=False, default="")
    state = Column(
        Enum(ComplaintState, name="complaint_state", values_callable=_enum_values),
        nullable=False,
        default=ComplaintState.NEW,
        index=True,
    )
    assignee = Column(String(64), nullable=False, default="")
    finding = Column(
        Enum(ComplaintFinding, name="complaint_finding", values_callable=_enum_values),
        nullable=True,
    )
    responsible_staff = Column(String(100), nullable=False, default="")
    resolution = Column(Text, nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    due_at = Column(DateTime(timezone=True), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    closed_at = Column(DateTime(timezone=True), nullable=True)
    version = Column(Integer, nullable=False, default=1)
    # The request that filed it (bot.idempotency): a repeated confirmation finds this row.
    request_key = Column(String(64), nullable=True, unique=True)

    events = relationship(
        "ComplaintEvent",
        back_populates="complaint",
        order_by="ComplaintEvent.id",
        cascade="all, delete-orphan",
    )
    survey = relationship("SurveyAnswer", back_populates="complaint", uselist=False)
    notifications = relationship(
        "ComplaintNotification", back_populates="complaint", order_by="ComplaintNotification.id"
    )

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Complaint {self.ticket_no} {self.state.value}>"


class ComplaintEvent(Base):
    """The audit trail: who changed a complaint, when, and the fields before and after."""

    __tablename__ = "complaint_event"

    id = Column(Integer, primary_key=True)
    complaint_id = Column(
        Integer, ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False, index=True
    )
    actor = Column(String(128), nullable=False)
    action = Column(String(32), nullable=False)
    # JSON objects of the fields that changed (empty for events that change none).
    before = Column(Text, nullable=False, default="{}")
    after = Column(Text, nullable=False, default="{}")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    complaint = relationship("Complaint", back_populates="events")

    def __repr__(self) -> str:
        return f"<ComplaintEvent {self.complaint_id} {self.action} by {self.actor}>"


class ComplaintNotification(Base):
    """A message to the complainant (the outcome when closed), as delivered or not."""

    __tablename__ = "complaint_notification"

    id = Column(Integer, primary_key=True)
    complaint_id = Column(
        Integer, ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False, index=True
    )
    sender_id = Column(String(128), nullable=False)
    kind = Column(String(16), nullable=False)
    text = Column(Text, nullable=False)
    status = Column(String(16), nullable=False)
    detail = Column(String(200), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    complaint = relationship("Complaint", back_populates="notifications")

    def __repr__(self) -> str:
        return f"<ComplaintNotification {self.complaint_id} {self.kind} {self.status}>"


class SurveyAnswer(Base):
    """The complainant's satisfaction (1-5) with how a closed complaint was handled."""

    __tablename__ = "survey_answer"

    id = Column(Integer, primary_key=True)
    complaint_id = Column(
        Integer, ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    sender_id = Column(String(128), nullable=False)
    score = Column(Integer, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    complaint = relationship("Complaint", back_populates="survey")

    def __repr__(self) -> str:
        return f"<SurveyAnswer {self.complaint_id} {self.score}>"


class Praise(Base):
    """Praise (表扬) for a service or a staff member, logged for the incentive scheme (制度10)."""

    __tablename__ = "praise"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(16), nullable=False, default="")
    department = Column(String(16), nullable=False, default="")
    staff_named = Column(String(100), nullable=False, default="")
    text = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<Praise {self.id} {self.department}>"


class DashboardUser(Base):
    """A supervisor who signs in to the review dashboard; the password is argon2-hashed."""

    __tablename__ = "dashboard_user"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False, default="")
    password_hash = Column(String(256), nullable=False)
    is_active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_login_at = Column(DateTime(timezone=True), nullable=True)

    def __repr__(self) -> str:
        return f"<DashboardUser {self.username}>"


class DashboardLoginAttempt(Base):
    """One sign-in attempt, kept to throttle password guessing (also for unknown names)."""

    __tablename__ = "dashboard_login_attempt"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, index=True)
    client = Column(String(64), nullable=False, default="")
    succeeded = Column(Boolean, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<DashboardLoginAttempt ok={self.succeeded}>"


class DashboardSession(Base):
    """A review-desk session, kept on the server: the cookie holds only a random id whose
    SHA-256 is stored here, so signing out or disabling the user ends it at once."""

    __tablename__ = "dashboard_session"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    # Set once signed in; the session before it only carries the sign-in form's CSRF token.
    username = Column(String(64), nullable=True, index=True)
    data = Column(Text, nullable=False, default="{}")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False, index=True)

    def __repr__(self) -> str:
        return f"<DashboardSession {self.id} {self.username or '-'}>"


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
    half_day = Column(Enum(HalfDay, name="half_day", values_callable=_enum_values), nullable=False)
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
    half_day = Column(Enum(HalfDay, name="half_day", values_callable=_enum_values), nullable=True)
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
        Enum(BookingState, name="booking_state", values_callable=_enum_values),
        nullable=False,
        default=BookingState.REQUESTED,
    )
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
    # The request that made it (bot.idempotency): a repeated confirmation finds this row.
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
        Enum(BookingState, name="booking_state", values_callable=_enum_values), nullable=True
    )
    to_state = Column(
        Enum(BookingState, name="booking_state", values_callable=_enum_values), nullable=False
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
        Enum(CareVisitKind, name="care_visit_kind", values_callable=_enum_values), nullable=False
    )
    visit_date = Column(Date, nullable=False, index=True)
    half_day = Column(Enum(HalfDay, name="half_day", values_callable=_enum_values), nullable=False)
    service_items = Column(String(200), nullable=False, default="")
    state = Column(
        Enum(CareVisitState, name="care_visit_state", values_callable=_enum_values),
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


# Control and bidi characters never reach the database (names, addresses, free text).
text_safety.install()
