"""Storing observations: one batched path for HTTP, the dataArray extension and MQTT.

:func:`store_observations` writes a whole batch in the caller's transaction:

1. the batch's datastreams are read (and on PostgreSQL locked, in id order, so two ingest
   workers handling the same stream take turns and its rules see a consistent history);
2. the rows go in with one multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING``: a row
   whose ``(datastream_id, dedup_key)`` exists (a redelivered MQTT message) is skipped; rows
   with no dedup key (HTTP, the dataArray extension: nothing can conflict) go in by ``COPY`` on
   PostgreSQL;
3. each stream's last two results, its time extent and its Thing's health are updated;
4. one ``sensing.observations.stored`` event for the whole batch goes to the outbox, with
   what the stream rules need of the streams' state before the batch.

What is durable is the observation row itself; the outbox row per *batch* (not per
observation) carries the batch to the bus, to MQTT subscribers and to the stream rules, so a
batch of 2,000 readings costs one outbox write, and a crash anywhere before commit leaves
nothing. The rules do not run here: the ``sensing.rules`` consumer judges each batch after
its commit (:func:`onecity.sensing.rules.on_stored`), in a transaction of its own, so a batch
is not held up by alerts being raised, audited and announced, and the outbox guarantees every
committed batch is judged exactly once (the consumer's inbox).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from onecity.core import clock, events
from onecity.core.errors import InvalidInput, NotFound
from onecity.core.identity.principal import Principal
from onecity.sensing import access
from onecity.sensing.events import OBSERVATIONS_STORED, ObservationsStored
from onecity.sensing.models import (
    Datastream,
    FeatureOfInterest,
    Location,
    Observation,
    Thing,
    ThingLocation,
)
from onecity.sensing.sta.odata import parse_datetime
from onecity.sensing.streams import stream_meta

#: Largest batch one call stores (the dataArray extension and the MQTT worker chunk to this).
MAX_BATCH = 5000


@dataclass
class NewObservation:
    datastream_id: int
    phenomenon_time: datetime
    result_number: float | None
    result_json: Any = None
    phenomenon_time_end: datetime | None = None
    result_time: datetime | None = None
    result_quality: Any = None
    valid_time_start: datetime | None = None
    valid_time_end: datetime | None = None
    parameters: dict[str, Any] | None = None
    feature_of_interest_id: int | None = None
    dedup_key: str | None = None


@dataclass
class StoreResult:
    stored: int = 0
    duplicates: int = 0
    ids: list[int] = field(default_factory=list)


def message_key(topic: str, payload: bytes) -> str:
    """The dedup key of an MQTT message: a redelivery carries the same bytes on the same topic."""
    return hashlib.blake2b(topic.encode() + b"\0" + payload, digest_size=20).hexdigest()


def _time_or_interval(value: Any, name: str) -> tuple[datetime, datetime | None]:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be an ISO 8601 time or interval (start/end), not {value!r}")
    start, slash, end = value.partition("/")
    s = parse_datetime(start)
    return (s, parse_datetime(end)) if slash else (s, None)


def parse_observation(
    obj: Any, datastream_id: int | None, *, now: datetime | None = None, dedup_key: str | None = None
) -> NewObservation:
    """Validate one Observation's JSON (as a device or client sends it) into a row to store."""
    if not isinstance(obj, dict):
        raise InvalidInput("an Observation is a JSON object")
    if "result" not in obj:
        raise InvalidInput("an Observation needs a result")
    if datastream_id is None:
        ds = obj.get("Datastream")
        if not isinstance(ds, dict) or not isinstance(ds.get("@iot.id"), int):
            raise InvalidInput('say which Datastream the Observation belongs to: "Datastream": {"@iot.id": n}')
        datastream_id = int(ds["@iot.id"])
    result = obj["result"]
    number: float | None = None
    if isinstance(result, int | float) and not isinstance(result, bool):
        number = float(result)
        if not math.isfinite(number):
            raise InvalidInput("the result must be a finite number")
        result = None
    pt = obj.get("phenomenonTime")
    start, end = _time_or_interval(pt, "phenomenonTime") if pt is not None else (now or clock.now(), None)
    rt = obj.get("resultTime")
    vt = obj.get("validTime")
    vstart, vend = _time_or_interval(vt, "validTime") if vt is not None else (None, None)
    params = obj.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise InvalidInput("parameters must be a JSON object")
    foi = obj.get("FeatureOfInterest")
    foi_id = None
    if foi is not None:
        if not isinstance(foi, dict) or not isinstance(foi.get("@iot.id"), int):
            raise InvalidInput('FeatureOfInterest must be a link {"@iot.id": n} here')
        foi_id = int(foi["@iot.id"])
    return NewObservation(
        datastream_id=datastream_id,
        phenomenon_time=start,
        phenomenon_time_end=end,
        result_number=number,
        result_json=result,
        result_time=parse_datetime(rt) if isinstance(rt, str) else None,
        result_quality=obj.get("resultQuality"),
        valid_time_start=vstart,
        valid_time_end=vend,
        parameters=params,
        feature_of_interest_id=foi_id,
        dedup_key=dedup_key,
    )


def _features(session: Session, thing_ids: set[int]) -> dict[int, int | None]:
    """The feature of interest of each Thing's observations, made from its location when missing."""
    rows = session.execute(
        select(FeatureOfInterest.thing_id, FeatureOfInterest.id).where(FeatureOfInterest.thing_id.in_(thing_ids))
    ).all()
    found = {int(r[0]): int(r[1]) for r in rows if r[0] is not None}
    out: dict[int, int | None] = {t: found.get(t) for t in thing_ids}
    missing = [t for t in thing_ids if out[t] is None]
    if missing:
        locs = session.execute(
            select(
                ThingLocation.thing_id,
                Location.name,
                Location.location,
                Location.encoding_type,
                Location.lon,
                Location.lat,
            )
            .join(Location, Location.id == ThingLocation.location_id)
            .where(ThingLocation.thing_id.in_(missing))
            .order_by(ThingLocation.thing_id, Location.id)
        ).all()
        for thing_id, name, geometry, enc, lon, lat in locs:
            if out.get(thing_id) is not None:
                continue
            foi = FeatureOfInterest(
                name=name,
                description=f"location of thing {thing_id}",
                encoding_type=enc,
                feature=geometry,
                lon=lon,
                lat=lat,
                thing_id=thing_id,
            )
            session.add(foi)
            session.flush()
            out[thing_id] = foi.id
    return out


_PG_INSERT = text("""
INSERT INTO sta_observations (datastream_id, phenomenon_time, phenomenon_time_end, result_time, result_number,
    result_json, result_quality, valid_time_start, valid_time_end, parameters, feature_of_interest_id, dedup_key)
SELECT ds, pt, pte, rt, rn, rj::json, rq::json, vts, vte, prm::json, foi, dk
FROM unnest(CAST(:ds AS bigint[]), CAST(:pt AS timestamptz[]), CAST(:pte AS timestamptz[]),
            CAST(:rt AS timestamptz[]), CAST(:rn AS float8[]), CAST(:rj AS text[]), CAST(:rq AS text[]),
            CAST(:vts AS timestamptz[]), CAST(:vte AS timestamptz[]), CAST(:prm AS text[]), CAST(:foi AS bigint[]),
            CAST(:dk AS text[]))
     AS u(ds, pt, pte, rt, rn, rj, rq, vts, vte, prm, foi, dk)
ON CONFLICT (datastream_id, dedup_key) DO NOTHING
RETURNING id, datastream_id, phenomenon_time, result_number
""")


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


_COPY_COLUMNS = (
    "id",
    "datastream_id",
    "phenomenon_time",
    "phenomenon_time_end",
    "result_time",
    "result_number",
    "result_json",
    "result_quality",
    "valid_time_start",
    "valid_time_end",
    "parameters",
    "feature_of_interest_id",
)
_COPY = f"COPY sta_observations ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence('sta_observations', 'id')) FROM generate_series(1, :n)")


def _copy(session: Session, rows: list[dict[str, Any]]) -> list[Any]:
    """PostgreSQL, rows without a dedup key (HTTP: nothing can conflict): ``COPY``, the server's
    bulk path, in the session's transaction. COPY returns nothing, so the ids are taken from the
    table's sequence first (one statement for the batch) and written with the rows."""
    ids = list(session.scalars(_NEXT_IDS, {"n": len(rows)}))
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cur, cur.copy(_COPY) as copy:
        for i, r in zip(ids, rows, strict=True):
            copy.write_row(
                (
                    i,
                    r["datastream_id"],
                    r["phenomenon_time"],
                    r["phenomenon_time_end"],
                    r["result_time"],
                    r["result_number"],
                    _json_text(r["result_json"]),
                    _json_text(r["result_quality"]),
                    r["valid_time_start"],
                    r["valid_time_end"],
                    _json_text(r["parameters"]),
                    r["feature_of_interest_id"],
                )
            )
    return [
        (i, r["datastream_id"], r["phenomenon_time"].astimezone(UTC), r["result_number"])
        for i, r in zip(ids, rows, strict=True)
    ]


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert-or-ignore the batch, returning the rows actually inserted.

    PostgreSQL gets ``COPY`` when no row has a dedup key (nothing to ignore), else one statement
    over arrays (``unnest``): a multi-row VALUES of thousands of rows spends more time building
    the SQL text than the server spends inserting.
    """
    if session.get_bind().dialect.name == "postgresql":
        if all(r["dedup_key"] is None for r in rows):
            return _copy(session, rows)

        def col(name: str, fn: Any = None) -> list[Any]:
            return [fn(r[name]) if fn else r[name] for r in rows]

        params = {
            "ds": col("datastream_id"),
            "pt": col("phenomenon_time"),
            "pte": col("phenomenon_time_end"),
            "rt": col("result_time"),
            "rn": col("result_number"),
            "rj": col("result_json", _json_text),
            "rq": col("result_quality", _json_text),
            "vts": col("valid_time_start"),
            "vte": col("valid_time_end"),
            "prm": col("parameters", _json_text),
            "foi": col("feature_of_interest_id"),
            "dk": col("dedup_key"),
        }
        return [(r[0], r[1], r[2].astimezone(UTC), r[3]) for r in session.execute(_PG_INSERT, params).all()]
    table = cast(Table, Observation.__table__)
    stmt = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["datastream_id", "dedup_key"])
        .returning(table.c.id, table.c.datastream_id, table.c.phenomenon_time, table.c.result_number)
    )
    out: list[Any] = []
    for i in range(0, len(rows), 1000):
        out.extend(session.execute(stmt, rows[i : i + 1000]).all())
    return out


def store_observations(
    session: Session,
    observations: list[NewObservation],
    *,
    principal: Principal,
    origin: str,
    skip_unknown: bool = False,
) -> StoreResult:
    """Store a batch; see the module docstring for the steps. Unknown datastreams are refused
    (HTTP) or, with ``skip_unknown`` (MQTT: a message for a stream that does not exist cannot be
    fixed by redelivering it), dropped."""
    result = StoreResult()
    if not observations:
        return result
    if len(observations) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} observations per request")
    meta = stream_meta(session, sorted({o.datastream_id for o in observations}), lock=True)
    unknown = {o.datastream_id for o in observations} - meta.keys()
    if unknown:
        if not skip_unknown:
            raise NotFound(f"no Datastream with @iot.id {min(unknown)}: create it first")
        observations = [o for o in observations if o.datastream_id in meta]
        if not observations:
            return result
    # readings go only to the principal's own devices (city-level principals: the ingest worker, skip)
    access.require_things(session, principal, {m.thing_id for m in meta.values()}, "an Observation's Datastream")
    features = _features(
        session, {meta[o.datastream_id].thing_id for o in observations if o.feature_of_interest_id is None}
    )
    rows = [
        {
            "datastream_id": o.datastream_id,
            "phenomenon_time": o.phenomenon_time,
            "phenomenon_time_end": o.phenomenon_time_end,
            "result_time": o.result_time,
            "result_number": o.result_number,
            "result_json": o.result_json,
            "result_quality": o.result_quality,
            "valid_time_start": o.valid_time_start,
            "valid_time_end": o.valid_time_end,
            "parameters": o.parameters,
            "feature_of_interest_id": o.feature_of_interest_id or features.get(meta[o.datastream_id].thing_id),
            "dedup_key": o.dedup_key,
        }
        for o in observations
    ]
    inserted = _insert(session, rows)
    result.stored, result.duplicates = len(inserted), len(rows) - len(inserted)
    result.ids = [r[0] for r in inserted]
    if not inserted:
        return result
    now = clock.now()
    inserted.sort(key=lambda r: (r[1], r[2], r[0]))
    touched_ids = {r[1] for r in inserted}
    # for the rules, judging the batch after commit: the streams' state before it
    previous = {
        str(d): [m.last_result, m.last_time.isoformat() if m.last_time else None]
        for d, m in meta.items()
        if d in touched_ids and m.last_result is not None
    }
    back = sorted({meta[d].thing_id for d in touched_ids if not meta[d].available})
    # newest two numeric readings kept per stream
    ds_updates: list[dict[str, Any]] = []
    touched: dict[int, None] = {}
    for r in inserted:
        m = meta[r[1]]
        touched[r[1]] = None
        _, _, t, value = r
        m.phenomenon_time_start = t if m.phenomenon_time_start is None else min(m.phenomenon_time_start, t)
        m.phenomenon_time_end = t if m.phenomenon_time_end is None else max(m.phenomenon_time_end, t)
        if value is not None and (m.last_time is None or t >= m.last_time):
            m.prev_result, m.prev_time, m.last_result, m.last_time = m.last_result, m.last_time, value, t
    for ds_id in touched:
        m = meta[ds_id]
        ds_updates.append(
            {
                "b_id": ds_id,
                "b_lr": m.last_result,
                "b_lt": m.last_time,
                "b_pr": m.prev_result,
                "b_pt": m.prev_time,
                "b_ps": m.phenomenon_time_start,
                "b_pe": m.phenomenon_time_end,
            }
        )
    table = cast(Table, Datastream.__table__)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            last_result=bindparam("b_lr"),
            last_time=bindparam("b_lt"),
            prev_result=bindparam("b_pr"),
            prev_time=bindparam("b_pt"),
            phenomenon_time_start=bindparam("b_ps"),
            phenomenon_time_end=bindparam("b_pe"),
        ),
        ds_updates,
        execution_options={"synchronize_session": False},
    )
    things = sorted({meta[d].thing_id for d in touched})
    session.execute(
        update(Thing).where(Thing.id.in_(things)).values(last_seen_at=now, available=True),
        execution_options={"synchronize_session": False},
    )
    events.publish(
        session,
        OBSERVATIONS_STORED,
        ObservationsStored(
            origin=origin,
            count=len(inserted),
            observations=[[r[0], r[1], r[2].isoformat(), r[3]] for r in inserted],
            previous=previous,
            back=back,
        ),
        principal=principal,
        reason=f"{len(inserted)} observations stored ({origin})",
    )
    return result
