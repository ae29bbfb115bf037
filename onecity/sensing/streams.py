"""What the ingest and the stream rules read about a datastream before a batch: its last two
results, its time extent, and where and how healthy its Thing is.

Its own module so that :mod:`onecity.sensing.ingest` (which runs the rules on each batch) and
:mod:`onecity.sensing.rules` (which judges a batch against this state) both depend on it, and
not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.sensing.models import Datastream, ObservedProperty, Thing


@dataclass
class StreamMeta:
    id: int
    thing_id: int
    observed_property: str
    last_result: float | None
    last_time: datetime | None
    prev_result: float | None
    prev_time: datetime | None
    phenomenon_time_start: datetime | None
    phenomenon_time_end: datetime | None
    township_code: str | None
    grid_code: str | None
    lon: float | None
    lat: float | None
    component_id: int | None
    available: bool


def stream_meta(session: Session, ids: list[int], *, lock: bool = False) -> dict[int, StreamMeta]:
    stmt = (
        select(
            Datastream.id,
            Datastream.thing_id,
            ObservedProperty.name,
            Datastream.last_result,
            Datastream.last_time,
            Datastream.prev_result,
            Datastream.prev_time,
            Datastream.phenomenon_time_start,
            Datastream.phenomenon_time_end,
            Thing.township_code,
            Thing.grid_code,
            Thing.lon,
            Thing.lat,
            Thing.component_id,
            Thing.available,
        )
        .join(ObservedProperty, ObservedProperty.id == Datastream.observed_property_id)
        .join(Thing, Thing.id == Datastream.thing_id)
        .where(Datastream.id.in_(ids))
        .order_by(Datastream.id)
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Datastream)
    names = [f.name for f in fields(StreamMeta)]
    return {r[0]: StreamMeta(**dict(zip(names, r, strict=True))) for r in session.execute(stmt).all()}
