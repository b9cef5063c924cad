"""The supervisors' review desk: a small server-rendered Starlette app.

Sign-in with an argon2-hashed password (throttled), server-side sessions behind an opaque
cookie (HttpOnly, SameSite=Lax, Secure except on localhost; `bot.admin.sessions`), a CSRF
token in every form, Jinja2 with autoescaping for everything shown, 400 for query values
that are not one of the offered choices. Pages: the complaint list with filters, a complaint
with its conversation and audit trail (assign, finding, resolution, close), statistics
with SVG charts, and a CSV export (for agents and supervisors); the conversations with
their masked transcripts, the review inbox and the operators' figures (for analysts and
supervisors). An account's role (bot.admin.auth.DeskRole) is read on every request: a
page its role does not open answers 403 and reads nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.admin.auth import (
    DeskRight,
    LoginOutcome,
    authenticate,
    csrf_matches,
    new_csrf_token,
    rights_of,
    session_stamp,
    signed_in_user,
)
from bot.admin.handoff import handoff_routes
from bot.admin.sessions import ServerSessionMiddleware
from bot.analytics.conversations import (
    FLOWS,
    OUTCOMES,
    ConversationFilter,
    find_conversations,
    indexed_channels,
    read_conversation,
    refresh_index,
)
from bot.analytics.service import default_tracker_engine, operators_report
from bot.complaints import workflow
from bot.complaints.catalog import Catalog, get_catalog
from bot.complaints.filing import find_complaint
from bot.complaints.queries import (
    OPEN,
    ComplaintFilter,
    export_csv,
    list_complaints,
    statistics,
)
from bot.complaints.service import DeskStep, find_complaints, take_desk_step
from bot.complaints.transcript import read_transcript
from bot.handoff.rasa_api import resume_conversation
from bot.handoff.service import Resume
from bot.infra import clock
from bot.infra.clock import as_utc, local_zone
from bot.infra.db import session_scope
from bot.infra.keys import local_secret
from bot.infra.settings import PROJECT_ROOT, Settings, get_settings
from bot.models import ComplaintFinding, ComplaintState
from bot.notify import Delivery, deliver
from bot.review.inbox import REASONS as REVIEW_REASONS
from bot.review.service import BadLabel, InboxEntry, ReviewChanged, collect, domain_intents
from bot.review.service import inbox as review_inbox
from bot.review.service import label as label_review

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_HOURS = 8
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}

ACTIONS = ("assign", "start", "finding", "resolve", "close")
Endpoint = Callable[[Request], Awaitable[Response]]
Deliver = Callable[[str, str], Delivery]


class SecurityHeaders:
    """Adds the headers above to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.decode().lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def secret_key(settings: Settings) -> str:
    """ADMIN_SECRET_KEY, or a random key kept in var/ (0600) so sessions survive a restart."""
    return settings.admin_secret_key or local_secret(PROJECT_ROOT / "var" / "admin_secret_key")


class BadQuery(ValueError):
    """A query parameter with a value the page never offers."""


MAX_AGE_DAYS = 3650


def _local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return ""
    return as_utc(moment).astimezone(local_zone()).strftime(pattern)


def create_app(
    *,
    settings: Settings | None = None,
    engine: Engine | None = None,
    catalog: Catalog | None = None,
    notify: Deliver | None = None,
    resume: Resume | None = None,
) -> Starlette:
    """The dashboard; tests pass their own database engine, delivery and resume functions
    (`resume`: tells Rasa a handed-over conversation is the assistant's again)."""
    settings = settings or get_settings()
    catalog = catalog or get_catalog()
    send = notify or (lambda sender_id, text: deliver(sender_id, text, settings))
    resume_rasa = resume or (lambda sender_id: resume_conversation(sender_id, settings))
    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    templates.filters["local"] = _local
    templates.globals.update(catalog=catalog, states=list(ComplaintState))

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        session = request.session
        if "csrf" not in session:
            session["csrf"] = new_csrf_token()
        flash = session.pop("flash", None)
        html = templates.get_template(name).render(
            request=request,
            user=session.get("user"),
            rights={right.value for right in getattr(request.state, "rights", ())},
            csrf_token=session["csrf"],
            flash=flash,
            **context,
        )
        return HTMLResponse(html, status_code=status_code)

    def flash(request: Request, key: str, kind: str = "error") -> None:
        request.session["flash"] = {"key": key, "kind": kind}

    def redirect(url: str) -> Response:
        return RedirectResponse(url, status_code=303)

    def login_required(endpoint: Endpoint, right: DeskRight | None = None) -> Endpoint:
        async def guarded(request: Request) -> Response:
            # Checked on every request: a deactivated user or a changed password ends
            # the sessions signed in before, not only the next sign-in; a changed role
            # changes the pages at once.
            with session_scope(engine) as session:
                user = signed_in_user(
                    session=session,
                    username=request.session.get("user"),
                    stamp=request.session.get("stamp"),
                )
                rights = rights_of(user) if user is not None else frozenset()
            if user is None:
                request.session.clear()
                return redirect("/login?" + urlencode({"next": request.url.path}))
            request.state.rights = rights
            if right is not None and right not in rights:
                logger.info("desk page refused for the account's role: %s", request.url.path)
                return render(request, "forbidden.html", status_code=403)
            if request.method == "POST":
                form = await request.form()
                if not csrf_matches(request.session.get("csrf"), str(form.get("csrf_token"))):
                    return PlainTextResponse("CSRF token missing or wrong", status_code=403)
            return await endpoint(request)

        return guarded

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def login_page(request: Request) -> Response:
        if request.session.get("user"):
            return redirect("/")
        return render(request, "login.html", next=request.query_params.get("next", ""))

    async def login(request: Request) -> Response:
        form = await request.form()
        if not csrf_matches(request.session.get("csrf"), str(form.get("csrf_token"))):
            return PlainTextResponse("CSRF token missing or wrong", status_code=403)
        username = str(form.get("username") or "")
        with session_scope(engine) as session:
            result = authenticate(
                session=session,
                username=username,
                password=str(form.get("password") or ""),
                client=request.client.host if request.client else "",
                now=clock.now(),
            )
            name = (result.user.display_name or result.user.username) if result.user else ""
            stamp = session_stamp(result.user) if result.user else ""
        if result.outcome is not LoginOutcome.OK:
            logger.info("dashboard sign-in refused: %s", result.outcome.value)
            status = 429 if result.outcome is LoginOutcome.LOCKED else 401
            flash(request, f"login_{result.outcome.value}")
            return render(request, "login.html", status_code=status, next=form.get("next", ""))
        # A fresh session on sign-in: nothing from before it carries over.
        request.session.clear()
        request.session.update(user=username.strip(), name=name, stamp=stamp, csrf=new_csrf_token())
        target = str(form.get("next") or "")
        return redirect(target if target.startswith("/") and not target.startswith("//") else "/")

    async def logout(request: Request) -> Response:
        # The session row goes with it (bot.admin.sessions): the old cookie opens nothing.
        request.session.clear()
        return redirect("/login")

    async def home(request: Request) -> Response:
        if DeskRight.COMPLAINTS in request.state.rights:
            return redirect("/complaints")
        if DeskRight.OPERATIONS in request.state.rights:
            return redirect("/conversations")
        return render(request, "forbidden.html", status_code=403)

    def filters_from(request: Request) -> ComplaintFilter:
        """The list's filters; BadQuery for a value the page does not offer."""
        params = request.query_params
        state = params.get("status", OPEN)
        if state not in {OPEN, ""} and state not in {s.value for s in ComplaintState}:
            raise BadQuery("status")
        department, category = params.get("department", ""), params.get("category", "")
        if department and department not in catalog.departments:
            raise BadQuery("department")
        if category and category not in catalog.categories:
            raise BadQuery("category")
        age = params.get("age", "")
        # ASCII digits only: "²".isdigit() is true but int("²") fails.
        if age and not (age.isascii() and age.isdigit() and int(age) <= MAX_AGE_DAYS):
            raise BadQuery("age")
        if params.get("overdue", "") not in {"", "0", "1"}:
            raise BadQuery("overdue")
        return ComplaintFilter(
            state=state,
            department=department,
            category=category,
            older_than_days=int(age) if age else None,
            overdue=params.get("overdue") == "1",
        )

    async def complaint_list(request: Request) -> Response:
        filters = filters_from(request)
        now = clock.now()
        # The same list a supervisor gets in the chat (bot.complaints.service).
        rows = find_complaints(filters=filters, now=now, engine=engine)
        return render(
            request,
            "list.html",
            rows=rows,
            filters=filters,
            query=urlencode({k: v for k, v in request.query_params.items() if k != "csrf_token"}),
        )

    async def complaint_detail(request: Request) -> Response:
        ticket = request.path_params["ticket"]
        with session_scope(engine) as session:
            complaint = find_complaint(session=session, ticket_no=ticket)
            if complaint is None:
                return render(request, "not_found.html", status_code=404)
            transcript = read_transcript(
                tracker_url=settings.tracker_database_url,
                sender_id=complaint.sender_id,
                marker=complaint.ticket_no,
                until=as_utc(complaint.created_at),
            )
            return render(
                request,
                "detail.html",
                c=complaint,
                overdue=workflow.is_overdue(complaint, clock.now()),
                transcript=transcript,
                findings=list(ComplaintFinding),
            )

    async def complaint_action(request: Request) -> Response:
        ticket = request.path_params["ticket"]
        action = request.path_params["action"]
        form = await request.form()
        actor = f"admin:{request.session['user']}"
        version_text = str(form.get("version") or "")
        if not version_text.isdigit():
            return PlainTextResponse("version missing", status_code=400)
        version = int(version_text)
        now = clock.now()

        step = DeskStep(
            action=action,
            assignee=str(form.get("assignee") or ""),
            finding=str(form.get("finding") or ""),
            responsible_staff=str(form.get("responsible_staff") or ""),
            resolution=str(form.get("resolution") or ""),
        )

        def apply() -> str | None:
            """Take the step; the flash message's key, or None if there is no such
            complaint. Runs in a worker thread: delivery may run an event loop of its own."""
            return take_desk_step(
                ticket_no=ticket,
                step=step,
                actor=actor,
                expected_version=version,
                now=now,
                catalog=catalog,
                deliver=send,
                engine=engine,
            )

        if action not in ACTIONS:
            return PlainTextResponse("unknown action", status_code=404)
        try:
            outcome = await run_in_threadpool(apply)
        except workflow.ComplaintChanged:
            flash(request, "changed")
            return redirect(f"/complaints/{ticket}")
        except workflow.TransitionError:
            flash(request, f"invalid_{action}")
            return redirect(f"/complaints/{ticket}")
        if outcome is None:
            return render(request, "not_found.html", status_code=404)
        flash(request, outcome, "ok")
        return redirect(f"/complaints/{ticket}")

    async def stats_page(request: Request) -> Response:
        with session_scope(engine) as session:
            figures = statistics(session=session, now=clock.now(), catalog=catalog)
        return render(request, "stats.html", s=figures)

    async def review_page(request: Request) -> Response:
        def load() -> list[list[InboxEntry]]:
            collect(tracker=default_tracker_engine(settings.tracker_database_url), engine=engine)
            return review_inbox(engine=engine)

        groups = await run_in_threadpool(load)
        labelled = await run_in_threadpool(lambda: review_inbox(labelled=True, engine=engine))
        return render(
            request,
            "review.html",
            groups=groups,
            labelled=[entry for group in labelled for entry in group],
            intents=sorted(domain_intents()),
            reasons=REVIEW_REASONS,
        )

    async def review_label(request: Request) -> Response:
        form = await request.form()
        item_id, version = str(request.path_params["item"]), str(form.get("version") or "")
        if not (
            item_id.isascii() and item_id.isdigit() and version.isascii() and version.isdigit()
        ):
            return PlainTextResponse("bad review item or version", status_code=400)
        try:
            label_review(
                item_id=int(item_id),
                expected_version=int(version),
                kind=str(form.get("kind") or ""),
                intent=str(form.get("intent") or ""),
                clause=str(form.get("clause") or ""),
                actor=f"admin:{request.session['user']}",
                now=clock.now(),
                engine=engine,
            )
        except ReviewChanged:
            flash(request, "review_changed")
        except BadLabel:
            flash(request, "review_bad_label")
        else:
            flash(request, "review_done", "ok")
        return redirect("/review")

    async def analytics_page(request: Request) -> Response:
        days_text = request.query_params.get("days", "7")
        if not (days_text.isascii() and days_text.isdigit() and 1 <= int(days_text) <= 366):
            raise BadQuery("days")
        report = await run_in_threadpool(
            lambda: operators_report(
                days=int(days_text),
                now=clock.now(),
                engine=engine,
                tracker_engine=default_tracker_engine(settings.tracker_database_url),
            )
        )
        figures = report.as_json()
        return render(
            request,
            "analytics.html",
            a=figures,
            days=int(days_text),
            day_rows=[(day[5:], row["conversations"]) for day, row in figures["per_day"].items()],
            channel_rows=[(ch, row["conversations"]) for ch, row in figures["per_channel"].items()],
        )

    def conversation_filters(request: Request, channels: list[str]) -> ConversationFilter:
        """The conversation list's filters; BadQuery for a value the page does not offer."""
        params = request.query_params
        channel, flow, outcome = (params.get(k, "") for k in ("channel", "flow", "outcome"))
        if channel and channel not in channels:
            raise BadQuery("channel")
        if flow and flow not in FLOWS:
            raise BadQuery("flow")
        if outcome and outcome not in {o.value for o in OUTCOMES}:
            raise BadQuery("outcome")
        days = []
        for key in ("from", "to"):
            text = params.get(key, "")
            try:
                days.append(date.fromisoformat(text) if text else None)
            except ValueError:
                raise BadQuery(key) from None
        return ConversationFilter(
            channel=channel, first_day=days[0], last_day=days[1], flow=flow, outcome=outcome
        )

    async def conversation_list(request: Request) -> Response:
        page_text = request.query_params.get("page", "1")
        if not (page_text.isascii() and page_text.isdigit() and 0 < int(page_text) <= 100_000):
            raise BadQuery("page")
        tracker = default_tracker_engine(settings.tracker_database_url)

        def load() -> list[str]:
            refresh_index(tracker=tracker, engine=engine)
            return indexed_channels(engine=engine)

        channels = await run_in_threadpool(load)
        filters = conversation_filters(request, channels)
        found = await run_in_threadpool(
            lambda: find_conversations(filters=filters, page=int(page_text), engine=engine)
        )
        query = {k: v for k, v in request.query_params.items() if k != "page" and v}
        return render(
            request,
            "conversations.html",
            found=found,
            filters=filters,
            channels=channels,
            flows=FLOWS,
            outcomes=[o.value for o in OUTCOMES],
            query=urlencode(query),
        )

    async def conversation_page(request: Request) -> Response:
        number = str(request.path_params["conversation"])
        if not (number.isascii() and number.isdigit() and len(number) <= 12):
            return render(request, "not_found.html", status_code=404, what="conversation")
        transcript = await run_in_threadpool(
            lambda: read_conversation(
                conversation_id=int(number),
                tracker=default_tracker_engine(settings.tracker_database_url),
                engine=engine,
            )
        )
        if transcript is None:
            return render(request, "not_found.html", status_code=404, what="conversation")
        return render(request, "conversation.html", t=transcript)

    async def export(request: Request) -> Response:
        filters = filters_from(request)
        now = clock.now()
        with session_scope(engine) as session:
            complaints = list_complaints(session=session, filters=filters, now=now)
            body = export_csv(complaints, catalog=catalog, now=now)
        filename = f"complaints-{_local(now, '%Y%m%d-%H%M')}.csv"
        return Response(
            body.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )

    complaints, operations = DeskRight.COMPLAINTS, DeskRight.OPERATIONS
    routes = [
        Route("/health", health),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", login_required(logout), methods=["POST"]),
        Route("/", login_required(home)),
        Route("/complaints", login_required(complaint_list, complaints)),
        Route("/complaints.csv", login_required(export, complaints)),
        Route("/complaints/{ticket}", login_required(complaint_detail, complaints)),
        Route(
            "/complaints/{ticket}/{action}",
            login_required(complaint_action, complaints),
            methods=["POST"],
        ),
        Route("/stats", login_required(stats_page, complaints)),
        Route("/conversations", login_required(conversation_list, operations)),
        Route("/conversations/{conversation}", login_required(conversation_page, operations)),
        Route("/review", login_required(review_page, operations)),
        Route("/review/{item}", login_required(review_label, operations), methods=["POST"]),
        Route("/analytics", login_required(analytics_page, operations)),
        # Answering customers handed to a person is an agent's work, like complaints.
        *handoff_routes(
            render=render,
            login_required=lambda endpoint: login_required(endpoint, complaints),
            flash=flash,
            redirect=redirect,
            engine=engine,
            settings=settings,
            send=send,
            resume=resume_rasa,
        ),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            ServerSessionMiddleware,
            engine=engine,
            key=secret_key(settings),
            cookie_name="review_desk",
            max_age=SESSION_HOURS * 3600,
            secure=settings.admin_cookie_secure,
        ),
    ]

    async def bad_query(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"bad query value: {exc}", status_code=400)

    return Starlette(routes=routes, middleware=middleware, exception_handlers={BadQuery: bad_query})


def serve(settings: Settings | None = None) -> int:
    """Serve the dashboard until Ctrl-C (`python -m bot admin`)."""
    import uvicorn

    settings = settings or get_settings()
    print(f"review desk: http://{settings.admin_host}:{settings.admin_port}/")
    start_desk_chores(settings)
    uvicorn.run(
        create_app(settings=settings),
        host=settings.admin_host,
        port=settings.admin_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        # No websockets here; Rasa pins a websockets that uvicorn's support does not fit.
        ws="none",
    )
    return 0


DESK_CHORES_SECONDS = 30.0


def start_desk_chores(settings: Settings) -> threading.Thread:
    """Every half minute, in a thread of its own: give idle handed-over conversations back
    to the assistant, and send the staff notifications that are due. Each desk process
    runs them; two at once never give one back or notify one thing twice
    (bot/handoff/service.py `expire_idle`, bot/handoff/notifications.py)."""
    from bot.handoff.notifications import send_due_notifications
    from bot.handoff.service import expire_idle

    def send(sender_id: str, text: str) -> Delivery:
        return deliver(sender_id, text, settings)

    def chores() -> None:
        while True:
            try:
                now = clock.now()
                expire_idle(
                    now=now,
                    deliver=send,
                    resume=lambda sender_id: resume_conversation(sender_id, settings),
                )
                send_due_notifications(now=now, deliver=send)
            except Exception:  # the next round tries again
                logger.exception("desk chores failed")
            time.sleep(DESK_CHORES_SECONDS)

    thread = threading.Thread(target=chores, name="desk-chores", daemon=True)
    thread.start()
    return thread
