"""`python -m bot visits ...`: staff commands for home visits."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.infra import clock
from bot.infra.db import session_scope
from bot.reading.dates import DateParseError, parse_dates


def _staff_name(args: argparse.Namespace) -> str:
    return f"cli:{args.by}" if args.by else "cli"


def _list(args: argparse.Namespace) -> int:
    from bot.visits.service import day_lists
    from bot.visits.wording import CARE_VISIT_LABELS, HALF_DAY_LABELS, STATE_LABELS

    try:
        days = parse_dates(args.date, clock.today()) if args.date else [clock.today()]
    except DateParseError as exc:
        print(f"cannot read the date {args.date!r} ({exc.reason})", file=sys.stderr)
        return 2
    # The same listing as a nurse's in the chat (bot.visits.service), for every nurse.
    for listed in day_lists(days=days, now=clock.now()):
        print(
            f"{listed.day.isoformat()}: {len(listed.infusions)} infusion visit(s),"
            f" {len(listed.care_visits)} care visit(s)"
        )
        for v in listed.infusions:
            print(
                f"  {v.booking_no}  {HALF_DAY_LABELS[v.half_day]}  {v.nurse or '-'}"
                f"  {v.patient_name}  {v.patient_address}  {v.drugs}"
                f"  [{STATE_LABELS[v.state]}]{v.flags}"
            )
        for visit in listed.care_visits:
            kind = CARE_VISIT_LABELS.get(visit.kind, "上门服务")
            print(
                f"  #{visit.id}  {visit.client_no}  {HALF_DAY_LABELS[visit.half_day]}"
                f"  {kind}  {visit.client_name}  {visit.client_address}  {visit.service_items}"
            )
    return 0


def _pending(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot.models import BookingState, HomeVisitBooking
    from bot.visits.wording import patient_name

    with session_scope() as session:
        rows = session.scalars(
            select(HomeVisitBooking)
            .where(HomeVisitBooking.state == BookingState.REQUESTED)
            .order_by(HomeVisitBooking.id)
        ).all()
        for b in rows:
            print(f"{b.booking_no}  {patient_name(b)}  {b.drug_text}  {b.review_note}")
        print(f"{len(rows)} request(s) waiting for review")
    return 0


def _move(args: argparse.Namespace) -> int:
    from bot.models import BookingState
    from bot.visits.booking import (
        ChangeOutcome,
        InvalidTransition,
        approve_review,
        cancel_booking,
        find_booking,
        transition,
    )

    with session_scope() as session:
        booking = find_booking(session=session, booking_no=args.booking_no)
        if booking is None:
            print(f"no booking {args.booking_no}", file=sys.stderr)
            return 1
        actor, now = _staff_name(args), clock.now()
        try:
            if args.command == "consent":
                transition(booking, BookingState.CONSENT_RECORDED, actor=actor, now=now)
            elif args.command == "done":
                transition(booking, BookingState.DONE, actor=actor, now=now, note=args.note or "")
            elif args.command == "refuse":
                transition(booking, BookingState.REFUSED, actor=actor, now=now, note=args.note)
            elif args.command == "approve":
                outcome = approve_review(session=session, booking=booking, actor=actor, now=now)
                if outcome is not ChangeOutcome.DONE:
                    print(f"{booking.booking_no}: not booked ({outcome.value})", file=sys.stderr)
                    return 1
            else:
                outcome = cancel_booking(
                    session=session, booking=booking, actor=actor, now=now, note=args.note or ""
                )
                if outcome is not ChangeOutcome.DONE:
                    print(f"{booking.booking_no}: not cancelled ({outcome.value})", file=sys.stderr)
                    return 1
        except InvalidTransition:
            print(f"{booking.booking_no} is {booking.state.value}: cannot do that", file=sys.stderr)
            return 1
        print(f"{booking.booking_no}: {booking.state.value}")
    return 0


def _follow_ups(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from bot.visits.elderly import FOLLOW_UP_KINDS, care_visits_between, ensure_care_schedules
    from bot.visits.wording import CARE_VISIT_LABELS

    first = clock.today()
    with session_scope() as session:
        ensure_care_schedules(session=session, now=clock.now())
        visits = care_visits_between(
            session=session,
            first=first,
            last=first + timedelta(days=args.days),
            kinds=FOLLOW_UP_KINDS,
        )
        for visit in visits:
            print(
                f"{visit.visit_date.isoformat()}  #{visit.id}  {CARE_VISIT_LABELS[visit.kind]}"
                f"  {visit.client.client_no}  {visit.client.name}  {visit.client.phone}"
                f"  {visit.client.address}  {visit.client.service_items}"
            )
        print(f"{len(visits)} follow-up visit(s) in the next {args.days} days")
    return 0


def _care_schedule(args: argparse.Namespace) -> int:
    from bot.visits.elderly import ensure_care_schedules

    with session_scope() as session:
        report = ensure_care_schedules(session=session, now=clock.now())
        for visit in report.overdue:
            print(
                f"overdue re-check #{visit.id}  {visit.visit_date.isoformat()}"
                f"  {visit.client.client_no}  {visit.client.name}  {visit.client.phone}"
            )
        print(
            f"{report.served} person(s) served, each with a quarterly re-check scheduled"
            f" ({report.scheduled} added); {report.cancelled} visit(s) after a last day"
            f" cancelled; {len(report.overdue)} re-check(s) overdue"
        )
    return 0


def _care_done(args: argparse.Namespace) -> int:
    from bot.visits.elderly import CareVisitError, complete_care_visit, ensure_next_recheck

    with session_scope() as session:
        try:
            visit = complete_care_visit(
                session=session,
                visit_id=args.visit_id,
                actor=_staff_name(args),
                now=clock.now(),
                note=args.note or "",
            )
        except CareVisitError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        following = ensure_next_recheck(session=session, client=visit.client, now=clock.now())
        after = f"; next re-check {following.visit_date.isoformat()}" if following else ""
        print(f"visit #{visit.id} of {visit.client.client_no}: done{after}")
    return 0


def _care_end(args: argparse.Namespace) -> int:
    from bot.visits.elderly import end_care, find_client

    try:
        last_day = parse_dates(args.last_day, clock.today())[-1] if args.last_day else None
    except DateParseError as exc:
        print(f"cannot read the date {args.last_day!r} ({exc.reason})", file=sys.stderr)
        return 2
    with session_scope() as session:
        client = find_client(session=session, client_no=args.client_no)
        if client is None:
            print(f"no elderly-care client {args.client_no}", file=sys.stderr)
            return 1
        cancelled = end_care(
            session=session,
            client=client,
            last_day=last_day or clock.today(),
            reason=args.reason,
        )
        print(
            f"{client.client_no}: served until {client.ended_on.isoformat()};"
            f" {cancelled} later visit(s) cancelled"
        )
    return 0


def _hotline(args: argparse.Namespace) -> int:
    from bot.visits.elderly import log_hotline_call

    with session_scope() as session:
        call = log_hotline_call(
            session=session,
            topic=args.topic,
            caller_name=args.name or "",
            caller_phone=args.phone or "",
            notes=args.note or "",
            received_by=args.by or "",
            now=clock.now(),
        )
        linked = " (linked to the client on file)" if call.client_id else ""
        print(f"hotline call {call.id} recorded{linked}")
    return 0


def register(groups: Any) -> None:
    """Add the `visits` command group to the top-level parser's subparsers."""
    visits = groups.add_parser("visits", help="home visits").add_subparsers(
        dest="command", required=True
    )
    listing = visits.add_parser("list", help="infusion and elderly-care visits on a day")
    listing.add_argument("--date", help="2026-11-26, 明天, 下周一到周三 ... (default: today)")
    listing.set_defaults(handler=_list)
    visits.add_parser("pending", help="requests waiting for the pharmacist's review").set_defaults(
        handler=_pending
    )
    helps = {
        "consent": "record the signed 《家庭输液治疗知情同意书》",
        "done": "record the visit as done",
        "approve": "after review: book the requested half-day",
        "refuse": "after review: refuse the request",
        "cancel": "cancel a booking (frees the nurse's place)",
    }
    for command, text in helps.items():
        move = visits.add_parser(command, help=text)
        move.add_argument("booking_no")
        move.add_argument("--by", help="who records it (logged)")
        move.add_argument("--note", required=command == "refuse", help="why (logged)")
        move.set_defaults(handler=_move)
    follow = visits.add_parser(
        "follow-ups", help="elderly-care follow-up visits and quarterly re-checks due"
    )
    follow.add_argument("--days", type=int, default=14)
    follow.set_defaults(handler=_follow_ups)
    visits.add_parser(
        "care-schedule",
        help="give every person served their next quarterly re-check (服务管理制度8 item 1;"
        " idempotent, run daily) and list overdue ones",
    ).set_defaults(handler=_care_schedule)
    done = visits.add_parser("care-done", help="record an elderly-care visit as done")
    done.add_argument("visit_id", type=int, help="the #number shown by list and follow-ups")
    done.add_argument("--by", help="who records it (logged)")
    done.add_argument("--note", help="what was found")
    done.set_defaults(handler=_care_done)
    end = visits.add_parser("care-end", help="a person is no longer served: stop their visits")
    end.add_argument("client_no")
    end.add_argument("--last-day", help="the last day served (default: today)")
    end.add_argument("--reason", required=True, help="why (kept in the archive)")
    end.set_defaults(handler=_care_end)
    hotline = visits.add_parser("hotline", help="log a call to the elderly-care hotline")
    hotline.add_argument("topic")
    hotline.add_argument("--name")
    hotline.add_argument("--phone")
    hotline.add_argument("--note")
    hotline.add_argument("--by")
    hotline.set_defaults(handler=_hotline)
