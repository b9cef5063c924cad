"""After-school care: schools, classes, teachers, pupils, guardians and leaves."""

from __future__ import annotations

import enum

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import relationship

from bot.models.base import Base, enum_values, utcnow

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
    # school's setting; the regulation only says "in advance"). No default here: a model
    # that read the settings would tie the schema module to data/organisation.yml;
    # bot.school.schools.new_school fills in the organisation's default instead.
    leave_cutoff_minutes = Column(Integer, nullable=False)
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
        Enum(LeaveState, name="leave_state", values_callable=enum_values),
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
