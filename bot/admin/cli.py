"""`python -m bot admin`: serve the review desk; `admin create-user NAME [--role R]`: an
account; `admin grant NAME ROLE`: what an account may open."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from bot.infra.db import session_scope

# bot.admin.auth's DeskRole values, named here so that `--help` loads no password hashing.
ROLE_CHOICES = ("agent", "analyst", "supervisor")


def _serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from bot.admin.app import serve
    from bot.infra.settings import get_settings

    settings = get_settings()
    if args.host:
        settings = replace(settings, admin_host=args.host)
    if args.port:
        settings = replace(settings, admin_port=args.port)
    return serve(settings)


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("the passwords differ", file=sys.stderr)
        return None
    return first


def _create_user(args: argparse.Namespace) -> int:
    from bot.admin.auth import AccountError, DeskRole, create_user

    password = _read_password(args)
    if password is None:
        return 1
    try:
        with session_scope() as session:
            user = create_user(
                session=session,
                username=args.name,
                password=password,
                display_name=args.display_name or "",
                role=DeskRole(args.role) if args.role else None,
                department=args.department,
            )
            username, role = user.username, user.role
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"dashboard user {username} saved (password hashed with argon2), role {role}")
    return 0


def _grant(args: argparse.Namespace) -> int:
    from bot.admin.auth import RIGHTS, DeskRole, grant_role

    role = DeskRole(args.role)
    with session_scope() as session:
        found = grant_role(session=session, username=args.name, role=role)
    if not found:
        print(f"no dashboard user {args.name}", file=sys.stderr)
        return 1
    pages = ", ".join(sorted(right.value for right in RIGHTS[role]))
    print(f"dashboard user {args.name} is now {role.value} ({pages}), from their next page")
    return 0


def _disable_user(args: argparse.Namespace) -> int:
    from bot.admin.auth import deactivate_user

    with session_scope() as session:
        found = deactivate_user(session=session, username=args.name)
    if not found:
        print(f"no dashboard user {args.name}", file=sys.stderr)
        return 1
    print(f"dashboard user {args.name} deactivated; their sessions end now")
    return 0


def register(groups: Any) -> None:
    """Add the `admin` command group to the top-level parser's subparsers."""
    admin = groups.add_parser("admin", help="the supervisors' review desk (web dashboard)")
    admin.add_argument("--host", help="address to bind (default: ADMIN_HOST, 127.0.0.1)")
    admin.add_argument("--port", type=int, help="port (default: ADMIN_PORT, 8080)")
    admin.set_defaults(handler=_serve)
    commands = admin.add_subparsers(dest="command")
    create = commands.add_parser(
        "create-user", help="create a supervisor account or reset its password"
    )
    create.add_argument("name")
    create.add_argument("--display-name", help="the name shown in the audit trail")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.add_argument(
        "--role",
        choices=ROLE_CHOICES,
        help="agent: complaints (default for a new account); analyst: conversations, review "
        "inbox, analytics; supervisor: both",
    )
    create.add_argument(
        "--department",
        help="the department whose handoff queue the user answers (gas, school, health, ...)",
    )
    create.set_defaults(handler=_create_user)
    grant = commands.add_parser("grant", help="set what a desk account may open (its role)")
    grant.add_argument("name")
    grant.add_argument("role", choices=ROLE_CHOICES)
    grant.set_defaults(handler=_grant)
    disable = commands.add_parser("disable-user", help="take a user's access away at once")
    disable.add_argument("name")
    disable.set_defaults(handler=_disable_user)
