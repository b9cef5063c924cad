"""Command line: `python -m bot <group> <command>`; `python -m bot --help` lists them."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence

from bot.admin.cli import register as register_admin
from bot.analytics.cli import register as register_analytics
from bot.gas.cli import register as register_gas
from bot.handoff.cli import register as register_handoff
from bot.infra.db import session_scope
from bot.infra.logging_setup import configure_logging
from bot.infra.settings import SettingsError, get_settings
from bot.infra.text_safety import safe_terminal_output
from bot.ops.dataops_cli import register as register_dataops
from bot.review.cli import register as register_review
from bot.rule_register import register as register_rules
from bot.visits.cli import register as register_visits

logger = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot.infra.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url, args.revision)
    print(f"database at revision {args.revision}: {_safe_url(settings.database_url)}")
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    from bot.infra.migrate import downgrade

    downgrade(get_settings().database_url, args.revision)
    print(f"database downgraded to {args.revision}")
    return 0


def _db_seed(args: argparse.Namespace) -> int:
    from bot.ops.seed import seed_demo, seed_policies

    with session_scope() as session:
        report = seed_policies(session=session)
        print(
            f"policy corpus: {report.created} documents added, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.removed} removed; {report.clauses} clauses, "
            f"{report.embedded} newly embedded"
        )
        if args.demo:
            demo = seed_demo(session=session)
            print(
                f"demo data: {demo.departments} departments, {demo.schools} schools, "
                f"{demo.students} students, {demo.gas_accounts} gas accounts, "
                f"{demo.communities} communities, {demo.nurses} nurses, "
                f"{demo.care_clients} elderly-care clients (marked is_demo)"
            )
    return 0


def _policy_list(args: argparse.Namespace) -> int:
    from bot.policies.store import list_documents

    with session_scope() as session:
        documents = list_documents(session=session)
        if args.json:
            rows = [
                {
                    "code": d.code,
                    "title": d.title,
                    "source": d.source,
                    "audience": d.audience.value,
                    "department": d.department,
                    "clauses": len(d.clauses),
                }
                for d in documents
            ]
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return 0
        if not documents:
            print("no regulations stored: run `python -m bot db seed` first", file=sys.stderr)
            return 1
        for d in documents:
            print(
                f"{d.code:>4}  《{d.title}》  {d.source}  [{d.audience.value}]  {len(d.clauses)} 条"
            )
    return 0


def _policy_show(args: argparse.Namespace) -> int:
    from bot.policies.store import find_document

    with session_scope() as session:
        document = find_document(session=session, key=args.document)
        if document is None:
            print(f"no regulation matches {args.document!r}; see `policy list`", file=sys.stderr)
            return 1
        if args.json:
            row = {
                "code": document.code,
                "title": document.title,
                "source": document.source,
                "audience": document.audience.value,
                "clauses": [
                    {"number": c.number, "label": c.label, "heading": c.heading, "text": c.text}
                    for c in document.clauses
                ],
            }
            print(json.dumps(row, ensure_ascii=False, indent=2))
            return 0
        print(f"《{document.title}》({document.source})  [{document.audience.value}]")
        for clause in document.clauses:
            heading = f"〔{clause.heading}〕" if clause.heading else ""
            print(f"\n{clause.label} {heading}\n{clause.text}")
    return 0


def _policy_search(args: argparse.Namespace) -> int:
    from bot.models import Audience
    from bot.policies.search import search_policies

    settings = get_settings()
    audiences = (
        (Audience.PUBLIC, Audience.STAFF) if args.audience == "staff" else (Audience.PUBLIC,)
    )
    with session_scope() as session:
        hits = search_policies(
            session=session,
            query=args.question,
            audiences=audiences,
            limit=args.top,
            min_score=settings.policy_min_score if args.min_score is None else args.min_score,
            min_coverage=settings.policy_min_coverage,
            min_score_unknown_noun=(
                settings.policy_min_score_unknown_noun if args.min_score is None else args.min_score
            ),
        )
    if args.json:
        print(json.dumps([hit.as_json() for hit in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("no clause answers this question")
        return 0
    for hit in hits:
        print(f"{hit.score:6.2f}  {hit.citation}\n        {hit.text}")
    return 0


def _staff_invite(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot.models import Nurse, StaffRole, Teacher
    from bot.staff import create_invite

    with session_scope() as session:
        nurse = None
        if args.nurse_phone:
            nurse = session.scalars(
                select(Nurse).where(Nurse.phone == args.nurse_phone.strip())
            ).first()
            if nurse is None:
                print(f"no nurse has the phone {args.nurse_phone}", file=sys.stderr)
                return 1
        teacher_id = None
        if args.teacher_phone:
            teacher = session.scalars(
                select(Teacher).where(Teacher.phone == args.teacher_phone.strip())
            ).first()
            if teacher is None:
                print(f"no teacher has the phone {args.teacher_phone}", file=sys.stderr)
                return 1
            teacher_id = teacher.id
        invite, code = create_invite(
            session=session,
            name=args.name,
            role=StaffRole(args.role),
            hours=args.hours,
            teacher_id=teacher_id,
        )
        if nurse is not None:  # the nurse is whoever redeems this invite
            nurse.invite_id = invite.id
        expires = invite.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    print(f"one-time code for {args.name} ({args.role}): {code}")
    print(f"valid until {expires}, single use; send it to the assistant in chat to bind.")
    return 0


def _staff_list(args: argparse.Namespace) -> int:
    from bot.infra.privacy import mask_personal_data
    from bot.staff import list_staff

    with session_scope() as session:
        members = list_staff(session=session)
        for member in members:
            bound = member.bound_at.strftime("%Y-%m-%d %H:%M")
            sender = mask_personal_data(member.sender_id)
            print(f"{member.role.value:<10} {member.name:<12} {sender}  bound {bound}")
    if not members:
        print("no staff bound yet")
    return 0


def _staff_revoke(args: argparse.Namespace) -> int:
    from bot.staff import revoke_staff

    with session_scope() as session:
        revoked = revoke_staff(session=session, sender_id=args.sender)
    print("unbound" if revoked else f"no staff member is bound to {args.sender}")
    return 0 if revoked else 1


def _school_leaves(args: argparse.Namespace) -> int:
    from bot.infra.clock import today
    from bot.reading.dates import DateParseError, parse_dates
    from bot.school.service import school_leaves

    try:
        days = parse_dates(args.date, today()) if args.date else [today()]
    except DateParseError as exc:
        print(f"cannot read the date {args.date!r} ({exc.reason})", file=sys.stderr)
        return 2
    entries = school_leaves(days=days, school_code=args.school)
    for day in days:
        leaves = [leave for leave in entries if leave.day == day]
        print(f"{day.isoformat()}: {len(leaves)} leave(s)")
        for leave in leaves:
            print(
                f"  {leave.class_name}  {leave.student_name}  {leave.reason or '-'}"
                f"  (requested {leave.requested_at:%m-%d %H:%M} via {leave.channel or '?'})"
            )
    return 0


def _school_unlock(args: argparse.Namespace) -> int:
    from bot.identity import unlock_target
    from bot.school.binding import ATTEMPT_KIND

    student_no = "".join(ch for ch in args.student_no if ch in "0123456789")
    with session_scope() as session:
        was_locked = unlock_target(
            session=session, kind=ATTEMPT_KIND, target=student_no, actor="staff:cli"
        )
    print("online binding unlocked" if was_locked else "was not locked; failures reset")
    return 0


def _run(args: argparse.Namespace) -> int:
    from bot.ops.devserver import run

    return run(chat=not args.no_chat)


def _chat(args: argparse.Namespace) -> int:
    from bot.runtime.chat import chat

    return chat(server_url=args.url or get_settings().rasa_server_url, sender=args.sender)


def _api_token(args: argparse.Namespace) -> int:
    from bot.ops.devserver import api_token

    secret = get_settings().rasa_jwt_secret
    if not secret:
        print("RASA_JWT_SECRET is not set: the servers' tokens are signed with it", file=sys.stderr)
        return 2
    print(api_token(secret))
    return 0


def _telegram(args: argparse.Namespace) -> int:
    from bot.channels.telegram import run

    settings = get_settings()
    if not settings.telegram_bot_token:
        print("TELEGRAM_BOT_TOKEN is not set: see the README (Telegram)", file=sys.stderr)
        return 2
    return run(settings)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    groups = parser.add_subparsers(dest="group", required=True)

    db = groups.add_parser("db", help="database schema and seed data").add_subparsers(
        dest="command", required=True
    )
    up = db.add_parser("upgrade", help="create or migrate the database (DATABASE_URL)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=_db_upgrade)
    down = db.add_parser("downgrade", help="migrate the database back to a revision")
    down.add_argument("revision")
    down.set_defaults(handler=_db_downgrade)
    seed = db.add_parser("seed", help="load the policy corpus (idempotent)")
    seed.add_argument("--demo", action="store_true", help="also load the demo data")
    seed.set_defaults(handler=_db_seed)

    policy = groups.add_parser("policy", help="the regulations").add_subparsers(
        dest="command", required=True
    )
    listing = policy.add_parser("list", help="list the stored regulations")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_policy_list)
    show = policy.add_parser("show", help="print one regulation with its clauses")
    show.add_argument("document", help="code (7.1), title (抄表管理制度) or source (服务管理制度7)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_policy_show)

    search = policy.add_parser("search", help="find the clauses that answer a question")
    search.add_argument("question")
    search.add_argument("--json", action="store_true", help="print a JSON list, best first")
    search.add_argument("--top", "--limit", type=int, default=3, help="at most N clauses")
    search.add_argument(
        "--audience",
        choices=["public", "staff"],
        default="public",
        help="staff: include staff-only regulations (default: public)",
    )
    search.add_argument("--min-score", type=float, default=None, help="default: POLICY_MIN_SCORE")
    search.set_defaults(handler=_policy_search)

    staff = groups.add_parser("staff", help="staff identities in chat").add_subparsers(
        dest="command", required=True
    )
    invite = staff.add_parser("invite", help="print a one-time code that binds a staff member")
    invite.add_argument("--name", required=True)
    invite.add_argument(
        "--role", required=True, choices=["staff", "teacher", "nurse", "supervisor"]
    )
    invite.add_argument("--hours", type=int, default=72, help="validity (default: 72)")
    invite.add_argument(
        "--teacher-phone", help="teacher role: the phone of the teacher record to link"
    )
    invite.add_argument("--nurse-phone", help="nurse role: the phone of the nurse record to link")
    invite.set_defaults(handler=_staff_invite)
    staff.add_parser("list", help="list bound staff members").set_defaults(handler=_staff_list)
    revoke = staff.add_parser("revoke", help="unbind a sender id")
    revoke.add_argument("sender")
    revoke.set_defaults(handler=_staff_revoke)

    school = groups.add_parser("school", help="after-school care").add_subparsers(
        dest="command", required=True
    )
    leaves = school.add_parser("leaves", help="leaves on a day (default: today)")
    leaves.add_argument("--date", help="2026-12-03, 明天, 下周一到周三 ...")
    leaves.add_argument("--school", help="school code (default: all)")
    leaves.set_defaults(handler=_school_leaves)
    unlock = school.add_parser(
        "unlock", help="allow parents to bind a student online again after failed attempts"
    )
    unlock.add_argument("student_no", help="the 学号")
    unlock.set_defaults(handler=_school_unlock)

    register_gas(groups)
    register_visits(groups)
    register_admin(groups)
    register_dataops(groups)
    register_rules(groups)
    register_analytics(groups)
    register_review(groups)
    register_handoff(groups)

    run = groups.add_parser("run", help="start the action server and Rasa, then chat")
    run.add_argument("--no-chat", action="store_true", help="serve only; do not open a chat")
    run.set_defaults(handler=_run)
    telegram = groups.add_parser("telegram", help="serve Telegram users (TELEGRAM_BOT_TOKEN)")
    telegram.set_defaults(handler=_telegram)
    chat = groups.add_parser("chat", help="chat with a running assistant in the terminal")
    chat.add_argument("--url", help="Rasa server URL (default: RASA_SERVER_URL)")
    chat.add_argument("--sender", default=None, help="sender id (default: a new web: id)")
    chat.set_defaults(handler=_chat)
    groups.add_parser(
        "api-token", help="print a bearer token for Rasa's HTTP API (RASA_JWT_SECRET)"
    ).set_defaults(handler=_api_token)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        configure_logging(get_settings().log_level)
        handler: Handler = args.handler
        # Stored text may come from anyone: no escape sequence reaches a staff terminal.
        with safe_terminal_output():
            return handler(args)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
