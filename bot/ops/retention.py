"""Data retention: conversations and free chat text older than RETENTION_DAYS go.

What happens to each kind of record once it is older than the retention period:

- Rasa's tracker store (`events`): deleted, except the current session of a sender who
  is still talking (so a conversation in progress keeps its context) and the
  conversations of senders with a complaint that is not closed yet (the supervisor still
  reads its transcript).
- `binding_attempt`, `dashboard_login_attempt`: deleted (they only serve the lock-outs).
- `conversation_session` (the desk's index of conversations): a conversation's entry goes
  once its last message is older than the period.
- `praise`: anonymised; the praised service and staff member stay for the incentive
  scheme, the sender and the text go.
- `leave_request`: the reason (often a child's illness) is cleared; the leave stays.
- `meter_fault_report`: the customer's description of a resolved report is cleared.
- Kept in full: complaints with their audit trail, notifications and survey answers
  (制度7, 制度10), home-visit bookings and the elderly-care archive (the centre's records),
  bills, payments and arrears reminders.

Each table is one transaction; running again finds nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    delete,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.dml import Delete, Update

from bot.infra.clock import as_utc
from bot.models import (
    BindingAttempt,
    Complaint,
    ComplaintState,
    ConversationSession,
    DashboardLoginAttempt,
    FaultState,
    LeaveRequest,
    MeterFaultReport,
    Praise,
)

ANONYMOUS_SENDER = "purged"


@dataclass(frozen=True)
class TableOutcome:
    """What retention did (or, in a dry run, would do) to one table."""

    table: str
    action: str  # "deleted", "anonymised" or "skipped"
    rows: int
    note: str = ""


def _table(model: type) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def _apply(
    engine: Engine,
    *,
    table: Table,
    where: ColumnElement[bool],
    change: Delete | Update,
    action: str,
    dry_run: bool,
) -> TableOutcome:
    """Count the rows `where` selects and, unless a dry run, run `change` (which must
    select the same rows) in the same transaction."""
    with engine.begin() as connection:
        count = connection.execute(
            select(func.count()).select_from(table).where(where)
        ).scalar_one()
        if count and not dry_run:
            connection.execute(change)
    return TableOutcome(table.name, action, int(count))


def purge_service_data(
    engine: Engine, *, cutoff: datetime, dry_run: bool = False
) -> list[TableOutcome]:
    """Apply the retention rules to the service database's own tables."""
    cutoff = as_utc(cutoff)
    outcomes = []
    for model in (BindingAttempt, DashboardLoginAttempt):
        table = _table(model)
        outcomes.append(
            _apply(
                engine,
                table=table,
                where=table.c.created_at < cutoff,
                change=delete(table).where(table.c.created_at < cutoff),
                action="deleted",
                dry_run=dry_run,
            )
        )
    conversations = _table(ConversationSession)
    outcomes.append(
        _apply(
            engine,
            table=conversations,
            where=conversations.c.last_at < cutoff,
            change=delete(conversations).where(conversations.c.last_at < cutoff),
            action="deleted",
            dry_run=dry_run,
        )
    )
    praise = _table(Praise)
    praise_where = and_(
        praise.c.created_at < cutoff,
        (praise.c.text != "") | (praise.c.sender_id != ANONYMOUS_SENDER),
    )
    outcomes.append(
        _apply(
            engine,
            table=praise,
            where=praise_where,
            change=update(praise).where(praise_where).values(text="", sender_id=ANONYMOUS_SENDER),
            action="anonymised",
            dry_run=dry_run,
        )
    )
    leave = _table(LeaveRequest)
    leave_where = and_(
        leave.c.care_date < cutoff.date(),
        leave.c.requested_at < cutoff,
        leave.c.reason != "",
    )
    outcomes.append(
        _apply(
            engine,
            table=leave,
            where=leave_where,
            change=update(leave).where(leave_where).values(reason=""),
            action="anonymised",
            dry_run=dry_run,
        )
    )
    fault = _table(MeterFaultReport)
    fault_where = and_(
        fault.c.state == FaultState.RESOLVED,
        fault.c.updated_at < cutoff,
        fault.c.description != "",
    )
    outcomes.append(
        _apply(
            engine,
            table=fault,
            where=fault_where,
            # updated_at stays: clearing the text is not a change of the report.
            change=update(fault)
            .where(fault_where)
            .values(description="", updated_at=fault.c.updated_at),
            action="anonymised",
            dry_run=dry_run,
        )
    )
    return outcomes


def senders_with_open_complaints(engine: Engine) -> list[str]:
    """Senders whose complaint a supervisor has not closed yet: their transcript stays."""
    complaint = _table(Complaint)
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(complaint.c.sender_id)
                .where(complaint.c.state != ComplaintState.CLOSED)
                .distinct()
            ).scalars()
        )


def _has_events_table(connection: Connection) -> bool:
    return inspect(connection).has_table("events")


# An event goes when it is older than the cutoff and either its sender's whole
# conversation is (the last event too), or it came before the sender's current session
# (the last session_started), which a sender still talking keeps whole.
_OLD_EVENTS = """
    FROM events
    WHERE timestamp < :cutoff
      AND (
        (SELECT MAX(latest.timestamp) FROM events AS latest
         WHERE latest.sender_id = events.sender_id) < :cutoff
        OR timestamp < COALESCE(
          (SELECT MAX(started.timestamp) FROM events AS started
           WHERE started.sender_id = events.sender_id
             AND started.type_name = 'session_started'),
          :cutoff)
      )
"""


def purge_tracker_events(
    engine: Engine, *, cutoff: datetime, keep_senders: list[str], dry_run: bool = False
) -> TableOutcome:
    """Delete Rasa tracker events older than `cutoff`, sparing each sender's current
    session and every sender in `keep_senders`, in one transaction."""
    where = _OLD_EVENTS
    params: dict[str, object] = {"cutoff": as_utc(cutoff).timestamp()}
    if keep_senders:
        where += " AND sender_id NOT IN :keep"
        params["keep"] = keep_senders
    count_query = text("SELECT COUNT(*) " + where)
    delete_query = text("DELETE " + where)
    if keep_senders:
        count_query = count_query.bindparams(bindparam("keep", expanding=True))
        delete_query = delete_query.bindparams(bindparam("keep", expanding=True))
    with engine.begin() as connection:
        if not _has_events_table(connection):
            return TableOutcome("events", "skipped", 0, "no tracker store table")
        count = int(connection.execute(count_query, params).scalar_one())
        if count and not dry_run:
            connection.execute(delete_query, params)
    return TableOutcome("events", "deleted", count)


def run_retention(
    *,
    service_engine: Engine,
    tracker_engine: Engine | None,
    days: int,
    now: datetime,
    dry_run: bool = False,
) -> list[TableOutcome]:
    """Apply the retention rules to everything older than `days` days before `now`."""
    cutoff = as_utc(now) - timedelta(days=days)
    outcomes = purge_service_data(service_engine, cutoff=cutoff, dry_run=dry_run)
    if tracker_engine is None:
        outcomes.append(TableOutcome("events", "skipped", 0, "no tracker store"))
    else:
        outcomes.append(
            purge_tracker_events(
                tracker_engine,
                cutoff=cutoff,
                keep_senders=senders_with_open_complaints(service_engine),
                dry_run=dry_run,
            )
        )
    return outcomes
