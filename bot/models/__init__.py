"""Database models, one module per area; import them from here (`from bot.models import X`).

Schema changes are Alembic migrations in `bot/migrations/versions/`; importing this package
registers every area's tables on the one `Base.metadata` that Alembic compares with the
database (tests/unit/test_database.py checks they agree).
"""

from __future__ import annotations

from bot.models.analytics import AnalyticsDay, ConversationSession
from bot.models.base import NAMING_CONVENTION, Base, install_text_cleaning, mapper_registry, utcnow
from bot.models.complaints import (
    Complaint,
    ComplaintEvent,
    ComplaintFinding,
    ComplaintNotification,
    ComplaintState,
    Praise,
    SurveyAnswer,
)
from bot.models.desk import (
    DashboardLoginAttempt,
    DashboardSession,
    DashboardUser,
)
from bot.models.directory import (
    Department,
)
from bot.models.gas import (
    ArrearsReminder,
    BusinessHall,
    FaultState,
    GasAccount,
    GasAccountBinding,
    GasAccountKind,
    GasBill,
    GasMeter,
    GasPayment,
    MeterFaultKind,
    MeterFaultReport,
    MeterLocation,
    MeterReading,
)
from bot.models.handoff import (
    HandoffConversation,
    HandoffEntry,
    HandoffStatus,
    StaffNotification,
    StaffNotificationSetting,
)
from bot.models.identity import (
    BindingAttempt,
    StaffInvite,
    StaffMember,
    StaffRole,
)
from bot.models.policies import (
    Audience,
    PolicyClause,
    PolicyDocument,
)
from bot.models.review import ReviewItem
from bot.models.school import (
    CareEnrollment,
    Guardian,
    GuardianBinding,
    LeaveRequest,
    LeaveState,
    School,
    SchoolCalendarDay,
    SchoolClass,
    Student,
    StudentGuardian,
    Teacher,
)
from bot.models.visits import (
    BookingEvent,
    BookingState,
    CareTeam,
    CareVisitKind,
    CareVisitState,
    Community,
    ElderlyCareClient,
    ElderlyCareVisit,
    HalfDay,
    HomeVisitBooking,
    HotlineCall,
    Nurse,
    NurseSlot,
    Patient,
)

__all__ = [
    "NAMING_CONVENTION",
    "AnalyticsDay",
    "ArrearsReminder",
    "Audience",
    "Base",
    "BindingAttempt",
    "BookingEvent",
    "BookingState",
    "BusinessHall",
    "CareEnrollment",
    "CareTeam",
    "CareVisitKind",
    "CareVisitState",
    "Community",
    "Complaint",
    "ComplaintEvent",
    "ComplaintFinding",
    "ComplaintNotification",
    "ComplaintState",
    "ConversationSession",
    "DashboardLoginAttempt",
    "DashboardSession",
    "DashboardUser",
    "Department",
    "ElderlyCareClient",
    "ElderlyCareVisit",
    "FaultState",
    "GasAccount",
    "GasAccountBinding",
    "GasAccountKind",
    "GasBill",
    "GasMeter",
    "GasPayment",
    "Guardian",
    "GuardianBinding",
    "HalfDay",
    "HandoffConversation",
    "HandoffEntry",
    "HandoffStatus",
    "HomeVisitBooking",
    "HotlineCall",
    "LeaveRequest",
    "LeaveState",
    "MeterFaultKind",
    "MeterFaultReport",
    "MeterLocation",
    "MeterReading",
    "Nurse",
    "NurseSlot",
    "Patient",
    "PolicyClause",
    "PolicyDocument",
    "Praise",
    "ReviewItem",
    "School",
    "SchoolCalendarDay",
    "SchoolClass",
    "StaffInvite",
    "StaffMember",
    "StaffNotification",
    "StaffNotificationSetting",
    "StaffRole",
    "Student",
    "StudentGuardian",
    "SurveyAnswer",
    "Teacher",
    "mapper_registry",
    "utcnow",
]

# Control and bidi characters never reach the database (names, addresses, free text).
install_text_cleaning()
