"""Load the home-visit demo data (`data/demo/visits.yml`): teams with their nurses,
communities, and the elderly-care archive. Idempotent; rows are marked demo, and rows
that are not demo data are never changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import CareTeam, Community, ElderlyCareClient, Nurse

ModelT = TypeVar("ModelT", CareTeam, Community, Nurse, ElderlyCareClient)


def _upsert(session: Session, model: type[ModelT], key: dict[str, Any], **values: Any) -> ModelT:
    row = session.scalars(select(model).filter_by(**key)).first()
    if row is None:
        row = model(**key, **values, is_demo=True)
        session.add(row)
    elif row.is_demo:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    return row


def seed_visits_demo(*, session: Session, path: Path) -> tuple[int, int, int]:
    """Load the demo data; returns the numbers of communities, nurses and clients."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    teams: dict[str, CareTeam] = {}
    nurses = 0
    for entry in data["teams"]:
        team = _upsert(
            session, CareTeam, {"code": entry["code"]}, name=entry["name"], phone=entry["phone"]
        )
        teams[entry["code"]] = team
        for person in entry["nurses"]:
            _upsert(
                session,
                Nurse,
                {"phone": person["phone"]},
                name=person["name"],
                team_id=team.id,
                capacity_per_half_day=person["capacity"],
            )
            nurses += 1
    communities: dict[str, Community] = {}
    for entry in data["communities"]:
        communities[entry["code"]] = _upsert(
            session,
            Community,
            {"code": entry["code"]},
            name=entry["name"],
            team_id=teams[entry["team"]].id,
            address_keywords="、".join(entry["keywords"]),
        )
    clients = data["elderly_care_clients"]
    for entry in clients:
        _upsert(
            session,
            ElderlyCareClient,
            {"client_no": entry["client_no"]},
            name=entry["name"],
            phone=entry["phone"],
            address=entry["address"],
            community_id=communities[entry["community"]].id,
            service_items="、".join(entry["items"]),
            service_times=entry["times"],
            caregiver=entry["caregiver"],
        )
    return len(communities), nurses, len(clients)
