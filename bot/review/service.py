"""The review inbox's units of work: collect flagged messages from the tracker store,
list them grouped, label them (one supervisor wins), read the labels for the export."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from bot.analytics.service import EVENTS, event_rows_after
from bot.infra.db import unit_of_work
from bot.infra.privacy import mask_personal_data
from bot.infra.settings import PROJECT_ROOT
from bot.models import ReviewItem
from bot.review.inbox import flags, groups

logger = logging.getLogger(__name__)

INTENT, OUT_OF_SCOPE, POLICY_GAP = "intent", "out_of_scope", "policy_gap"
NOT_COVERED = "not covered"
_CLAUSE_MAX = 64


class ReviewChanged(Exception):
    """Another supervisor labelled the message since it was shown: nothing was changed."""


class BadLabel(ValueError):
    """A label the inbox does not take (an intent not in the domain, an unknown kind)."""


@lru_cache(maxsize=1)
def domain_intents(domain: Path = PROJECT_ROOT / "domain.yml") -> frozenset[str]:
    """The intents declared in domain.yml: the only ones a message may be labelled with."""
    declared = yaml.safe_load(domain.read_text(encoding="utf-8")).get("intents") or []
    return frozenset(next(iter(item)) if isinstance(item, dict) else str(item) for item in declared)


@dataclass(frozen=True)
class InboxEntry:
    id: int
    reason: str
    channel: str
    text: str  # masked
    said_at: datetime
    label: str
    intent: str
    clause: str
    labelled_by: str
    version: int


def collect(*, tracker: Engine | None, engine: Engine | None = None) -> int:
    """Add the flagged messages written since the newest one collected (masked); how many
    were added. Running it again adds nothing twice."""
    if tracker is None:
        return 0
    with unit_of_work(engine) as session:
        after = session.scalar(select(func.max(ReviewItem.event_id))) or 0
        known = set(session.scalars(select(ReviewItem.event_id).where(ReviewItem.event_id > 0)))
        added = 0
        # A conversation under way at the watermark: its earlier rows give the state.
        senders_after = select(EVENTS.c.sender_id).where(EVENTS.c.id > after)
        for flag in flags(event_rows_after(tracker, 0, senders_after)):
            if flag.event_id in known or flag.event_id <= after:
                continue
            known.add(flag.event_id)
            session.add(
                ReviewItem(
                    event_id=flag.event_id,
                    sender_id=mask_personal_data(flag.sender_id),
                    channel=flag.channel[:32],
                    reason=flag.reason,
                    text=mask_personal_data(flag.text),
                    said_at=datetime.fromtimestamp(flag.at, tz=timezone.utc),
                )
            )
            added += 1
    logger.info("review inbox: %d message(s) added", added)
    return added


def inbox(
    *, labelled: bool = False, limit: int = 500, engine: Engine | None = None
) -> list[list[InboxEntry]]:
    """The messages still to label (or, with `labelled`, those labelled), newest first,
    grouped by similar text, biggest group first."""
    with unit_of_work(engine) as session:
        query = select(ReviewItem).order_by(ReviewItem.said_at.desc(), ReviewItem.id.desc())
        query = (
            query.where(ReviewItem.label != "") if labelled else query.where(ReviewItem.label == "")
        )
        entries = [
            InboxEntry(
                id=item.id,
                reason=item.reason,
                channel=item.channel,
                text=mask_personal_data(item.text),
                said_at=item.said_at,
                label=item.label,
                intent=item.intent,
                clause=item.clause,
                labelled_by=item.labelled_by,
                version=item.version,
            )
            for item in session.scalars(query.limit(limit))
        ]
    return [[entries[i] for i in group] for group in groups([e.text for e in entries])]


def label(
    *,
    item_id: int,
    expected_version: int,
    kind: str,
    intent: str = "",
    clause: str = "",
    actor: str,
    now: datetime,
    engine: Engine | None = None,
) -> None:
    """Label the message `item_id` as shown at `expected_version`: with an intent of the
    domain, as out of scope, or as a policy gap (a clause label, or "not covered").
    ReviewChanged if another label came first; BadLabel for a label not taken."""
    intent, clause = intent.strip(), clause.strip()[:_CLAUSE_MAX]
    if kind == INTENT:
        if intent not in domain_intents():
            raise BadLabel("intent")
        clause = ""
    elif kind == POLICY_GAP:
        intent, clause = "", clause or NOT_COVERED
    elif kind == OUT_OF_SCOPE:
        intent, clause = "", ""
    else:
        raise BadLabel("kind")
    with unit_of_work(engine) as session:
        # Conditional on the version shown: of two supervisors, the second changes nothing.
        changed = session.execute(
            update(ReviewItem)
            .where(ReviewItem.id == item_id, ReviewItem.version == expected_version)
            .values(
                label=kind,
                intent=intent,
                clause=clause,
                labelled_by=actor[:64],
                labelled_at=now,
                version=ReviewItem.version + 1,
            )
        ).rowcount
    if changed != 1:
        raise ReviewChanged(item_id)
