"""The desk's handoff inbox: conversations handed to a person (转人工), oldest first.

GET  /handoff                 the department's waiting conversations, messages left out of
                              hours and the conversations held (refreshes itself)
GET  /handoff/{id}            one conversation: the assistant's transcript of the session,
                              what was said since, what the assistant knows (as the
                              agent's department may see it), suggested regulation clauses
                              and canned replies (?cite=KEY / ?canned=N fill the reply box)
POST /handoff/{id}/claim      take it (of two agents claiming at once one wins)
POST /handoff/{id}/reply      send a reply to the customer's channel
POST /handoff/{id}/transfer   hand it on to another department's queue
POST /handoff/{id}/close      hand back to the assistant

Everything runs through bot/handoff/service.py, the same functions the CLI uses; every
step is in the conversation's record (handoff_entry), the audit trail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.complaints.transcript import read_transcript
from bot.directory import list_departments
from bot.handoff import service
from bot.handoff.context import known_facts, suggested_clauses
from bot.handoff.desks import get_desks
from bot.handoff.service import ClaimOutcome, Deliver, NoSuchHandoff, NotHolder, Resume
from bot.infra import clock
from bot.infra.db import session_scope
from bot.infra.settings import Settings
from bot.models import DashboardUser

Endpoint = Callable[[Request], Awaitable[Response]]
INBOX_REFRESH_SECONDS = 5


def _department_of(engine: Engine | None, username: str) -> str:
    with session_scope(engine) as session:
        return str(
            session.scalar(
                select(DashboardUser.department).where(DashboardUser.username == username)
            )
            or ""
        )


def _conversation_id(request: Request) -> int | None:
    raw = str(request.path_params["conversation"])
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def handoff_routes(
    *,
    render: Callable[..., Response],
    login_required: Callable[[Endpoint], Endpoint],
    flash: Callable[..., None],
    redirect: Callable[[str], Response],
    engine: Engine | None,
    settings: Settings,
    send: Deliver,
    resume: Resume,
) -> list[Route]:
    """The inbox's routes, with the desk's helpers (bot/admin/app.py `create_app`)."""

    def agent(request: Request) -> tuple[str, str]:
        username = str(request.session["user"])
        return username, str(request.session.get("name") or username)

    async def inbox_page(request: Request) -> Response:
        username, _ = agent(request)
        now = clock.now()

        def load() -> tuple[str, service.Inbox, dict[str, str]]:
            department = _department_of(engine, username)
            with session_scope(engine) as session:
                names = {d.code: d.name for d in list_departments(session=session)}
            return (
                department,
                service.inbox(department=department, agent=username, now=now, engine=engine),
                names,
            )

        department, box, names = await run_in_threadpool(load)
        return render(
            request,
            "handoff_inbox.html",
            box=box,
            department=department,
            names=names,
            agent=username,
            refresh=INBOX_REFRESH_SECONDS,
        )

    async def detail_page(request: Request) -> Response:
        conversation_id = _conversation_id(request)
        if conversation_id is None:
            return render(request, "not_found.html", status_code=404)
        username, _ = agent(request)
        now = clock.now()

        def load() -> dict[str, Any] | None:
            detail = service.handoff_detail(conversation_id=conversation_id, now=now, engine=engine)
            if detail is None:
                return None
            department = _department_of(engine, username)
            summary = detail.summary
            transcript = read_transcript(
                tracker_url=settings.tracker_database_url,
                sender_id=summary.sender_id,
                until=datetime.now(timezone.utc),
            )
            with session_scope(engine) as session:
                names = {d.code: d.name for d in list_departments(session=session)}
            return {
                "detail": detail,
                "transcript": transcript,
                "facts": known_facts(
                    sender_id=summary.sender_id, department=department, engine=engine
                ),
                "clauses": suggested_clauses(question=summary.question, engine=engine),
                "names": names,
            }

        loaded = await run_in_threadpool(load)
        if loaded is None:
            return render(request, "not_found.html", status_code=404)
        draft = ""
        cite, canned = request.query_params.get("cite", ""), request.query_params.get("canned", "")
        chosen = [clause for clause in loaded["clauses"] if clause.key == cite]
        if chosen:
            draft = chosen[0].reply
        canned_replies = get_desks().canned
        if canned.isascii() and canned.isdigit() and int(canned) < len(canned_replies):
            draft = canned_replies[int(canned)].text
        return render(
            request,
            "handoff_detail.html",
            h=loaded["detail"].summary,
            entries=loaded["detail"].entries,
            transcript=loaded["transcript"],
            facts=loaded["facts"],
            clauses=loaded["clauses"],
            canned=list(enumerate(canned_replies)),
            names=loaded["names"],
            draft=draft,
            agent=username,
        )

    async def step(request: Request) -> Response:
        conversation_id = _conversation_id(request)
        if conversation_id is None:
            return render(request, "not_found.html", status_code=404)
        action = str(request.path_params["action"])
        form = await request.form()
        username, name = agent(request)
        now = clock.now()
        target = f"/handoff/{conversation_id}"

        def take() -> str:
            """The flash message's key."""
            if action == "claim":
                outcome = service.claim(
                    conversation_id=conversation_id,
                    agent=username,
                    agent_name=name,
                    now=now,
                    deliver=send,
                    engine=engine,
                )
                return f"handoff_{outcome.value}"
            if action == "reply":
                sent = service.reply(
                    conversation_id=conversation_id,
                    agent=username,
                    agent_name=name,
                    text=str(form.get("text") or ""),
                    now=now,
                    deliver=send,
                    engine=engine,
                )
                return f"handoff_reply_{sent.delivery}"
            if action == "transfer":
                service.transfer(
                    conversation_id=conversation_id,
                    agent=username,
                    agent_name=name,
                    department=str(form.get("department") or ""),
                    now=now,
                    deliver=send,
                    engine=engine,
                )
                return "handoff_transferred"
            service.close(
                conversation_id=conversation_id,
                actor=username,
                actor_name=name,
                now=now,
                deliver=send,
                resume=resume,
                engine=engine,
            )
            return "handoff_closed"

        if action not in {"claim", "reply", "transfer", "close"}:
            return PlainTextResponse("unknown action", status_code=404)
        try:
            key = await run_in_threadpool(take)
        except NoSuchHandoff:
            return render(request, "not_found.html", status_code=404)
        except NotHolder:
            flash(request, "handoff_not_holder")
            return redirect(target)
        except ValueError:
            flash(request, f"handoff_invalid_{action}")
            return redirect(target)
        ok = key not in {
            f"handoff_{ClaimOutcome.TAKEN.value}",
            f"handoff_{ClaimOutcome.CLOSED.value}",
            "handoff_reply_failed",
            "handoff_reply_no_channel",
        }
        flash(request, key, "ok" if ok else "error")
        return redirect("/handoff" if action in {"close", "transfer"} else target)

    return [
        Route("/handoff", login_required(inbox_page)),
        Route("/handoff/{conversation}", login_required(detail_page)),
        Route("/handoff/{conversation}/{action}", login_required(step), methods=["POST"]),
    ]
