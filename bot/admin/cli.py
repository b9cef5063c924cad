"""`python -m bot admin`: serve the review desk; `admin create-user NAME`: an account."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from bot.infra.db import session_scope


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
    from bot.admin.auth import AccountError, create_user

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
                department=args.department,
            )
            username = user.username
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"dashboard user {username} saved (password hashed with argon2)")
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
        "--department",
        help="the department whose handoff queue the user answers (gas, school, health, ...)",
    )
    create.set_defaults(handler=_create_user)
    disable = commands.add_parser("disable-user", help="take a user's access away at once")
    disable.add_argument("name")
    disable.set_defaults(handler=_disable_user)
