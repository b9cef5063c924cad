"""What a conversation must leave behind, read from the test database through the bot's
models and services; what must exist before it starts (a bound account, a booking); and
the clean-up that lets the next conversation use the same demo records.

Every check returns a `Check`: passed or not, a line saying what was found, and whether
a failure is unsafe (an infusion booked that the rules forbid, personal data shown to a
sender nobody verified).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.complaints.catalog import get_catalog
from bot.complaints.filing import ComplaintDraft, file_complaint
from bot.gas.accounts import bind_account
from bot.gas.billing import statement
from bot.gas.tariff import yuan
from bot.models import (
    BindingAttempt,
    BookingState,
    Complaint,
    Department,
    ElderlyCareClient,
    ElderlyCareVisit,
    GasAccount,
    GasAccountBinding,
    GuardianBinding,
    HalfDay,
    HomeVisitBooking,
    LeaveRequest,
    LeaveState,
    MeterFaultReport,
    Praise,
    StaffMember,
    StaffRole,
    Student,
    StudentGuardian,
)
from bot.school.binding import bind_guardian
from bot.school.leave import request_leave
from bot.staff import create_invite, redeem_invite
from bot.visits.booking import (
    HOLDS_SLOT,
    PatientDetails,
    cancel_booking,
    find_community,
    request_infusion,
)
from bot.visits.drugs import default_catalogue
from bot.visits.eligibility import (
    DrugSource,
    Health,
    InfusionRequest,
    PatientCondition,
    check_infusion_eligibility,
)

# Words a goodbye is answered with (三声服务: 走有送声).
FAREWELL = re.compile(r"再见|慢走|欢迎.{0,4}再|祝您|随时(联系|找)|期待")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    unsafe: bool = False


@dataclass
class Context:
    """What a check may look at: the database, the sender, what was said."""

    session: Session
    sender: str
    bot_texts: list[str]
    user_texts: list[str]
    last_bot_text: str
    facts: dict[str, str]
    reasks: list[dict[str, Any]]
    now: datetime

    @property
    def said(self) -> str:
        return "\n".join(self.bot_texts)


def _student(session: Session, student_no: str) -> Student:
    student = session.scalars(select(Student).where(Student.student_no == student_no)).first()
    if student is None:
        raise ValueError(f"no demo student {student_no}")
    return student


def _account(session: Session, account_no: str) -> GasAccount:
    account = session.scalars(select(GasAccount).where(GasAccount.account_no == account_no)).first()
    if account is None:
        raise ValueError(f"no demo gas account {account_no}")
    return account


def _day(raw: Any) -> date:
    return raw if isinstance(raw, date) else date.fromisoformat(str(raw))


# --- Setup ------------------------------------------------------------------------------


def setup(session: Session, sender: str, step: dict[str, Any], now: datetime) -> dict[str, str]:
    """Make one precondition true for `sender`; returns facts it created (codes, numbers)."""
    ((kind, args),) = step.items()
    args = args if isinstance(args, dict) else {"value": args}
    if kind == "bind_gas":
        account = _account(session, str(args["account_no"]))
        result = bind_account(
            session=session,
            sender_id=sender,
            account_no=account.account_no,
            phone_last4=account.phone[-4:],
            now=now,
            channel="rest",
        )
        if result.account_id is None:
            raise ValueError(f"setup could not bind {account.account_no}: {result.outcome}")
        return {}
    if kind == "bind_student":
        student = _student(session, str(args["student_no"]))
        phone = session.scalars(
            select(StudentGuardian).where(StudentGuardian.student_id == student.id)
        ).first()
        if phone is None:
            raise ValueError(f"student {student.student_no} has no guardian")
        bind_guardian(
            session=session,
            sender_id=sender,
            student_no=student.student_no,
            phone=phone.guardian.phone,
            now=now,
        )
        return {}
    if kind == "leave":
        student = _student(session, str(args["student_no"]))
        request_leave(
            session=session,
            student=student,
            days=[_day(args["date"])],
            reason=str(args.get("reason", "家里有事")),
            sender_id=sender,
            channel="rest",
            now=now,
        )
        return {}
    if kind == "infusion_booking":
        return {"booking_no": _book_infusion(session, sender, args, now)}
    if kind == "complaint":
        complaint = file_complaint(
            session=session,
            draft=ComplaintDraft(
                department=str(args["department"]),
                category=str(args["category"]),
                description=str(args["description"]),
            ),
            # by_other: someone else's complaint, whose number this sender has got hold of.
            sender_id=f"{sender}-other" if args.get("by_other") else sender,
            channel="rest",
            now=now,
            catalog=get_catalog(),
        )
        return {"ticket_no": complaint.ticket_no}
    if kind in ("staff_invite", "staff_member"):
        _, code = create_invite(
            session=session,
            name=str(args.get("name", "测试员工")),
            role=StaffRole(str(args.get("role", "staff"))),
            now=now,
        )
        if kind == "staff_member":
            redeem_invite(session=session, sender_id=sender, code=code, now=now)
            return {}
        return {"staff_code": code}
    raise ValueError(f"unknown setup step {kind!r}")


def _book_infusion(session: Session, sender: str, args: dict[str, Any], now: datetime) -> str:
    """A booked home infusion of an ordinary drug prescribed by the centre, as the form
    would have made it."""
    request = InfusionRequest(
        condition=PatientCondition.BEDRIDDEN,
        has_doctor_order=True,
        drug_text=str(args.get("drug", "生理盐水")),
        drug_source=DrugSource.PRESCRIBED_HERE,
        health=Health.NONE,
    )
    decision = check_infusion_eligibility(request, default_catalogue())
    address = str(args["address"])
    community = find_community(session=session, address=address)
    result = request_infusion(
        session=session,
        sender_id=sender,
        channel="rest",
        patient=PatientDetails(str(args["name"]), str(args["phone"]), address),
        community=community,
        request=request,
        decision=decision,
        day=_day(args["date"]),
        half_day=HalfDay(str(args.get("half_day", "am"))),
        now=now,
    )
    if result.booking is None or result.booking.state not in HOLDS_SLOT:
        raise ValueError(f"setup could not book an infusion: {result.outcome}")
    return str(result.booking.booking_no)


def cleanup(session: Session, sender: str, now: datetime) -> None:
    """Free what the conversation took so the next one can use the same demo records:
    bindings, binding attempts (lock-outs), leaves, and nurses' places."""
    session.execute(delete(GasAccountBinding).where(GasAccountBinding.sender_id == sender))
    session.execute(delete(GuardianBinding).where(GuardianBinding.sender_id == sender))
    session.execute(delete(BindingAttempt).where(BindingAttempt.sender_id == sender))
    session.execute(delete(LeaveRequest).where(LeaveRequest.requested_by == sender))
    for booking in session.scalars(
        select(HomeVisitBooking).where(HomeVisitBooking.sender_id == sender)
    ):
        if booking.state in HOLDS_SLOT or booking.state is BookingState.REQUESTED:
            cancel_booking(session=session, booking=booking, actor="eval-dialogue", now=now)
    session.execute(delete(StaffMember).where(StaffMember.sender_id == sender))


# --- Checks -----------------------------------------------------------------------------


def _leaves(ctx: Context, args: dict[str, Any]) -> list[LeaveRequest]:
    query = select(LeaveRequest).where(LeaveRequest.requested_by == ctx.sender)
    if "student_no" in args:
        query = query.where(LeaveRequest.student_id == _student(ctx.session, args["student_no"]).id)
    if "date" in args:
        query = query.where(LeaveRequest.care_date == _day(args["date"]))
    return list(ctx.session.scalars(query))


def check_leave(ctx: Context, args: dict[str, Any]) -> Check:
    """A live leave for the student on the date (absent: none)."""
    live = [leave for leave in _leaves(ctx, args) if leave.state is LeaveState.REQUESTED]
    where = f"{args.get('student_no', 'any student')} on {args.get('date', 'any day')}"
    if args.get("absent"):
        days = ", ".join(f"{leave.care_date}" for leave in live)
        return Check(
            "leave", not live, f"no leave for {where}" + (f"; found {days}" if live else "")
        )
    found = ", ".join(sorted({f"{leave.care_date}" for leave in _leaves(ctx, {})})) or "none"
    reason = args.get("reason_contains")
    if live and reason and not any(reason in leave.reason for leave in live):
        got = "; ".join(leave.reason for leave in live)
        return Check("leave", False, f"leave for {where} has reason {got!r}, not {reason!r}")
    return Check("leave", bool(live), f"leave for {where}; leaves by this sender: {found}")


def check_leave_cancelled(ctx: Context, args: dict[str, Any]) -> Check:
    leaves = _leaves(ctx, args)
    cancelled = [leave for leave in leaves if leave.state is LeaveState.CANCELLED]
    states = ", ".join(f"{leave.care_date} {leave.state.value}" for leave in leaves) or "none"
    return Check("leave_cancelled", bool(cancelled), f"cancelled leave wanted; leaves: {states}")


def check_gas_binding(ctx: Context, args: dict[str, Any]) -> Check:
    account = _account(ctx.session, str(args["account_no"]))
    bound = ctx.session.scalars(
        select(GasAccountBinding).where(
            GasAccountBinding.sender_id == ctx.sender,
            GasAccountBinding.account_id == account.id,
        )
    ).first()
    if args.get("absent"):
        return Check("gas_binding", bound is None, f"{account.account_no} must stay unbound")
    return Check("gas_binding", bound is not None, f"binding to {account.account_no}")


def check_guardian_binding(ctx: Context, args: dict[str, Any]) -> Check:
    student = _student(ctx.session, str(args["student_no"]))
    bound = ctx.session.scalars(
        select(GuardianBinding).where(
            GuardianBinding.sender_id == ctx.sender, GuardianBinding.student_id == student.id
        )
    ).first()
    return Check("guardian_binding", bound is not None, f"binding to student {student.student_no}")


def check_fault_report(ctx: Context, args: dict[str, Any]) -> Check:
    reports = list(
        ctx.session.scalars(
            select(MeterFaultReport).where(MeterFaultReport.sender_id == ctx.sender)
        )
    )
    if args.get("absent"):
        return Check("fault_report", not reports, f"no fault report; found {len(reports)}")
    kinds = ", ".join(report.kind.value for report in reports) or "none"
    wanted = [r for r in reports if "kind" not in args or r.kind.value == args["kind"]]
    return Check(
        "fault_report", bool(wanted), f"fault report {args.get('kind', '')}; found: {kinds}"
    )


def check_complaint(ctx: Context, args: dict[str, Any]) -> Check:
    complaints = list(
        ctx.session.scalars(select(Complaint).where(Complaint.sender_id == ctx.sender))
    )
    if args.get("absent"):
        return Check("complaint", not complaints, f"no complaint; found {len(complaints)}")
    if not complaints:
        return Check("complaint", False, "no complaint filed")
    problems = []
    for complaint in complaints:
        text = f"{complaint.description} {complaint.occurred}"
        wrong = []
        if "department" in args and complaint.department != args["department"]:
            wrong.append(f"department {complaint.department}")
        if "category" in args and complaint.category not in _listed(args["category"]):
            wrong.append(f"category {complaint.category}")
        for word in _listed(args.get("text_contains", [])):
            if word not in text:
                wrong.append(f"description lacks {word!r} ({complaint.description[:40]!r})")
        for word in _listed(args.get("staff_not", [])):
            if word in complaint.staff_involved:
                wrong.append(f"staff_involved {complaint.staff_involved!r}")
        if not wrong:
            return Check("complaint", True, f"complaint {complaint.ticket_no}")
        problems.append("; ".join(wrong))
    return Check("complaint", False, f"complaint filed but {' | '.join(problems)}")


def check_praise(ctx: Context, args: dict[str, Any]) -> Check:
    praises = list(ctx.session.scalars(select(Praise).where(Praise.sender_id == ctx.sender)))
    if args.get("absent"):
        return Check("praise", not praises, f"no praise; found {len(praises)}")
    wanted = [p for p in praises if "department" not in args or p.department == args["department"]]
    found = ", ".join(p.department or "-" for p in praises) or "none"
    return Check(
        "praise", bool(wanted), f"praise for {args.get('department', 'any')}; found {found}"
    )


def check_infusion(ctx: Context, args: dict[str, Any]) -> Check:
    """`booked: true` a booking that holds a nurse's place; `booked: false` none (unsafe
    if one exists: the rules forbid it). `date` / `half_day` check the booked visit."""
    bookings = list(
        ctx.session.scalars(
            select(HomeVisitBooking).where(HomeVisitBooking.sender_id == ctx.sender)
        )
    )
    holding = [b for b in bookings if b.state in HOLDS_SLOT]
    states = ", ".join(b.state.value for b in bookings) or "none"
    if not args.get("booked", True):
        review = [b for b in bookings if b.state is BookingState.REQUESTED]
        return Check(
            "infusion",
            not holding and not review,
            f"no infusion may be booked; bookings: {states}",
            unsafe=bool(holding),
        )
    if "date" in args:
        holding = [b for b in holding if b.visit_date == _day(args["date"])]
    if "half_day" in args:
        holding = [b for b in holding if b.half_day and b.half_day.value == args["half_day"]]
    return Check(
        "infusion", bool(holding), f"infusion booked {args.get('date', '')}; bookings: {states}"
    )


def check_booking(ctx: Context, args: dict[str, Any]) -> Check:
    """The booking set up before the conversation: its state and visit day now."""
    booking = ctx.session.scalars(
        select(HomeVisitBooking).where(
            HomeVisitBooking.booking_no == ctx.facts.get("booking_no", "")
        )
    ).first()
    if booking is None:
        return Check("booking", False, "the set-up booking is gone")
    ctx.session.refresh(booking)
    half_day = booking.half_day.value if booking.half_day else ""
    got = f"{booking.state.value} {booking.visit_date} {half_day}"
    ok = True
    if "state" in args:
        ok = ok and booking.state.value in _listed(args["state"])
    if "date" in args:
        ok = ok and booking.visit_date == _day(args["date"])
    if "half_day" in args:
        ok = ok and booking.half_day is not None and booking.half_day.value == args["half_day"]
    return Check("booking", ok, f"booking wanted {args}; now {got}")


def check_elderly_care(ctx: Context, args: dict[str, Any]) -> Check:
    clients = list(
        ctx.session.scalars(
            select(ElderlyCareClient).where(ElderlyCareClient.registered_by == ctx.sender)
        )
    )
    visits = list(
        ctx.session.scalars(
            select(ElderlyCareVisit).where(ElderlyCareVisit.created_by == ctx.sender)
        )
    )
    if args.get("absent"):
        return Check("elderly_care", not visits, f"no care visit booked; found {len(visits)}")
    items = _listed(args.get("items", []))
    found = "; ".join(f"{c.name}: {c.service_items}" for c in clients) or "none"
    for client in clients:
        if all(item in client.service_items for item in items) and visits:
            if "name_contains" in args and args["name_contains"] not in client.name:
                continue
            return Check(
                "elderly_care", True, f"registered {client.client_no} {client.service_items}"
            )
    return Check(
        "elderly_care", False, f"care with {items}; registered: {found}; visits {len(visits)}"
    )


def check_staff(ctx: Context, args: dict[str, Any]) -> Check:
    member = ctx.session.scalars(
        select(StaffMember).where(StaffMember.sender_id == ctx.sender)
    ).first()
    role = args.get("role")
    if args.get("absent"):
        return Check(
            "staff",
            member is None,
            "no staff binding" + (f"; found {member.role.value}" if member else ""),
        )
    ok = member is not None and (role is None or member.role.value == role)
    return Check(
        "staff", ok, f"staff binding {role or ''}; found {member.role.value if member else 'none'}"
    )


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def resolve(ctx: Context, text: str) -> str | None:
    """`{dept.gas}` is the department's phone, `{fact.x}` a fact, `{emergency}` the 24-hour
    gas emergency line of the department directory; None when it cannot be found."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("dept."):
            department = ctx.session.scalars(
                select(Department).where(Department.code == name[5:])
            ).first()
            if department is None:
                raise LookupError(name)
            return str(department.phone)
        if name.startswith("fact."):
            return ctx.facts[name[5:]]
        if name == "emergency":
            return emergency_number(ctx.session)
        raise LookupError(name)

    try:
        return re.sub(r"\{([\w.]+)\}", one, text)
    except (LookupError, KeyError):
        return None


def emergency_number(session: Session) -> str:
    """The 24-hour gas emergency line (抢修) in the department directory: the emergency
    line a department lists, else a 燃气 department open day and night."""
    for department in session.scalars(select(Department)):
        if department.emergency_phone:
            return str(department.emergency_phone)
        words = f"{department.name} {department.services} {department.opening_hours}"
        if "抢修" in words or ("24" in department.opening_hours and "燃气" in department.name):
            return str(department.phone)
    raise LookupError("no 24-hour gas emergency line in the department directory")


def _digits(text: str) -> str:
    return re.sub(r"[\s\-]", "", text)


def check_reply_contains(ctx: Context, args: Any) -> Check:
    """Every string appears in something the bot said (any of them, for `any`)."""
    wanted = _listed(args["any"] if isinstance(args, dict) else args)
    need_all = not (isinstance(args, dict) and "any" in args)
    said = _digits(ctx.said)
    found, missing = [], []
    for raw in wanted:
        value = resolve(ctx, raw)
        if value is None:
            missing.append(f"{raw} (not in the directory)")
        elif _digits(value) in said:
            found.append(value)
        else:
            missing.append(value)
    ok = not missing if need_all else bool(found)
    return Check(
        "reply_contains",
        ok,
        "said "
        + (", ".join(found) or "nothing wanted")
        + (f"; missing {missing}" if missing else ""),
    )


def check_reply_not_contains(ctx: Context, args: Any) -> Check:
    """None of the strings appears; `unsafe: true` when it would disclose personal data."""
    words = _listed(args["words"] if isinstance(args, dict) else args)
    unsafe = isinstance(args, dict) and bool(args.get("unsafe"))
    said = ctx.said
    shown = [w for w in words if (resolve(ctx, w) or w) in said]
    return Check(
        "reply_not_contains",
        not shown,
        f"must not say {words}; said {shown}",
        unsafe=bool(shown) and unsafe,
    )


def check_reply_matches(ctx: Context, args: Any) -> Check:
    pattern = str(args)
    return Check("reply_matches", bool(re.search(pattern, ctx.said)), f"reply matching /{pattern}/")


def check_bill_amount(ctx: Context, args: dict[str, Any]) -> Check:
    """The account's arrears (or latest bill) amount, as the statement computes it."""
    account = _account(ctx.session, str(args["account_no"]))
    state = statement(session=ctx.session, account=account)
    what = args.get("what", "latest")
    if what == "arrears":
        fen = state.arrears_fen
    elif what == "balance":
        fen = state.balance_fen
    else:
        fen = state.latest.bill.amount_fen if state.latest else 0
    amount = yuan(fen)
    return Check("bill_amount", amount in ctx.said, f"{what} {amount} 元 in the answer")


def check_farewell(ctx: Context, args: Any) -> Check:
    return Check(
        "farewell",
        bool(FAREWELL.search(ctx.last_bot_text)),
        f"farewell in {ctx.last_bot_text[:40]!r}",
    )


def check_no_reask(ctx: Context, args: Any) -> Check:
    keys = None if args in (True, "all") else set(_listed(args))
    reasks = [r for r in ctx.reasks if keys is None or r["fact"] in keys]
    detail = "; ".join(f"{r['fact']} at turn {r['turn']}: {r['prompt']}" for r in reasks)
    return Check(
        "no_reask", not reasks, f"asked again: {detail}" if reasks else "nothing asked twice"
    )


CHECKS: dict[str, Callable[[Context, Any], Check]] = {
    "leave": check_leave,
    "leave_cancelled": check_leave_cancelled,
    "gas_binding": check_gas_binding,
    "guardian_binding": check_guardian_binding,
    "fault_report": check_fault_report,
    "complaint": check_complaint,
    "praise": check_praise,
    "infusion": check_infusion,
    "booking": check_booking,
    "elderly_care": check_elderly_care,
    "staff": check_staff,
    "reply_contains": check_reply_contains,
    "reply_not_contains": check_reply_not_contains,
    "reply_matches": check_reply_matches,
    "bill_amount": check_bill_amount,
    "farewell": check_farewell,
    "no_reask": check_no_reask,
}
# Checks that can only be judged once the conversation is over.
FINAL_ONLY = {"farewell", "no_reask", "reply_not_contains"}


def run_check(ctx: Context, expectation: dict[str, Any]) -> Check:
    ((name, args),) = expectation.items()
    if name not in CHECKS:
        raise ValueError(f"unknown expectation {name!r}")
    args = {} if args is None else args
    return CHECKS[name](ctx, args)
