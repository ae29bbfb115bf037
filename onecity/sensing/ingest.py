"""Storing observations: one batched path for HTTP, the dataArray extension and MQTT.

:func:`store_observations` writes a whole batch in the caller's transaction:

1. the batch's datastreams are read (and on PostgreSQL locked, in id order, so two ingest
   workers handling the same stream take turns and its rules see a consistent history);
2. the rows go in with one multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING``: a row
   whose ``(datastream_id, dedup_key)`` exists (a redelivered MQTT message) is skipped; rows
   with no dedup key (HTTP, the dataArray extension: nothing can conflict) go in by ``COPY`` on
   PostgreSQL;
3. each stream's last two results, its time extent and its Thing's health are updated;
4. one ``sensing.observations.stored`` event per batch (of at most :data:`MAX_BATCH`) goes to
   the outbox, with what the stream rules need of the streams' state before the batch.

Plain readings given a column each (:class:`ObservationColumns`: the dataArray's common form)
take :func:`store_columns`, the same steps with no Python work per reading: one binary ``COPY``
whose bytes numpy lays out, the streams' state moved per stream (:func:`_advance`).

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
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
import numpy.typing as npt
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
from onecity.sensing.streams import StreamMeta, stream_meta

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
    #: False when the message stated no phenomenonTime and it is the time it was parsed at, which
    #: differs between deliveries of one message (PostgreSQL's dedup looks wider for those).
    time_given: bool = True


@dataclass
class StoreResult:
    stored: int = 0
    duplicates: int = 0
    ids: list[int] = field(default_factory=list)


@dataclass
class ObservationColumns:
    """Plain readings (an instant and a number each, nothing else), one array per column: the
    dataArray's common form, stored by :func:`store_columns` without a Python object per reading.

    ``phenomenon_time_us`` counts microseconds since 1970-01-01 UTC; every result is finite."""

    datastream_id: npt.NDArray[np.int64]
    phenomenon_time_us: npt.NDArray[np.int64]
    result_number: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.datastream_id)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_us(t: datetime) -> int:
    """Microseconds since 1970 UTC of an instant (a naive one, as SQLite gives back, is UTC)."""
    return ((t if t.tzinfo else t.replace(tzinfo=UTC)) - _EPOCH) // _MICROSECOND


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


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
        time_given=pt is not None,
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


#: PostgreSQL partitions the table by phenomenon time, so its dedup constraint is (datastream_id,
#: dedup_key, phenomenon_time) (:mod:`onecity.sensing.partitions`: why that keeps a message stored
#: once, and what the ``NOT EXISTS`` is for: a message with no phenomenonTime of its own, ``tg`` false).
_PG_INSERT = text("""
INSERT INTO sta_observations (datastream_id, phenomenon_time, phenomenon_time_end, result_time, result_number,
    result_json, result_quality, valid_time_start, valid_time_end, parameters, feature_of_interest_id, dedup_key)
SELECT ds, pt, pte, rt, rn, rj::json, rq::json, vts, vte, prm::json, foi, dk
FROM unnest(CAST(:ds AS bigint[]), CAST(:pt AS timestamptz[]), CAST(:pte AS timestamptz[]),
            CAST(:rt AS timestamptz[]), CAST(:rn AS float8[]), CAST(:rj AS text[]), CAST(:rq AS text[]),
            CAST(:vts AS timestamptz[]), CAST(:vte AS timestamptz[]), CAST(:prm AS text[]), CAST(:foi AS bigint[]),
            CAST(:dk AS text[]), CAST(:tg AS boolean[]))
     AS u(ds, pt, pte, rt, rn, rj, rq, vts, vte, prm, foi, dk, tg)
WHERE u.tg OR NOT EXISTS (SELECT 1 FROM sta_observations o WHERE o.datastream_id = u.ds AND o.dedup_key = u.dk
                          AND o.phenomenon_time BETWEEN u.pt - interval '1 day' AND u.pt + interval '1 day')
ON CONFLICT (datastream_id, dedup_key, phenomenon_time) DO NOTHING
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


#: The sequence is looked up once (a materialised CTE), not once per id: per id, the catalogue
#: lookup cost the server 2.2 µs of the 2.5 µs an id took.
_NEXT_ID_ARRAY = (
    "WITH q AS MATERIALIZED (SELECT pg_get_serial_sequence('sta_observations', 'id')::regclass AS seq) "
    "SELECT array_agg(nextval(q.seq)) FROM q, generate_series(1, %s)"
)
#: PostgreSQL's binary timestamps count microseconds from 2000-01-01 UTC.
_PG_EPOCH_US = 946_684_800_000_000
#: ``COPY … (FORMAT BINARY)``: the signature, no flags, no header extension; the trailer is a field count of -1.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_BINARY_TRAILER = b"\xff\xff"


def _driver(session: Session) -> Any:
    driver = session.connection().connection.driver_connection
    assert driver is not None
    return driver


def _next_ids(session: Session, n: int) -> npt.NDArray[np.int64]:
    """``n`` ids from the table's sequence, in one statement and one row (an array)."""
    with _driver(session).cursor() as cur:
        row = cur.execute(_NEXT_ID_ARRAY, (n,), binary=True).fetchone()
    return np.asarray(row[0], dtype=np.int64)


def _copy(session: Session, rows: list[dict[str, Any]]) -> list[Any]:
    """PostgreSQL, rows without a dedup key (HTTP: nothing can conflict): ``COPY``, the server's
    bulk path, in the session's transaction. COPY returns nothing, so the ids are taken from the
    table's sequence first (one statement for the batch) and written with the rows."""
    ids = _next_ids(session, len(rows)).tolist()
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


def _insert(session: Session, rows: list[dict[str, Any]], time_given: list[bool] | None = None) -> list[Any]:
    """Insert-or-ignore the batch, returning the rows actually inserted.

    PostgreSQL gets ``COPY`` when no row has a dedup key (nothing to ignore), else one statement
    over arrays (``unnest``): a multi-row VALUES of thousands of rows spends more time building
    the SQL text than the server spends inserting.
    """
    if session.get_bind().dialect.name == "postgresql":
        if all(r["dedup_key"] is None for r in rows):
            return _copy(session, rows)

        def col(name: str, fn: Any = None) -> list[Any]:
            # a column no row fills goes as an empty array (unnest pads it with NULLs): an MQTT
            # reading fills 5 of the 12, and psycopg dumps arrays element by element in Python
            if all(r[name] is None for r in rows):
                return []
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
            "tg": time_given if time_given is not None else [True] * len(rows),
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


def _copy_columns(
    session: Session, ids: npt.NDArray[np.int64], cols: ObservationColumns, foi: npt.NDArray[np.int64]
) -> None:
    """PostgreSQL: the batch as one binary ``COPY`` whose bytes numpy lays out a column at a time
    (a record per row: the field count, then each field's length and big-endian value), so no
    Python code runs per row and the server parses no text. Only the columns plain readings
    have are sent; a NULL feature of interest (a Thing with no location) changes the record's
    shape, so such rows go in a second COPY."""
    driver = _driver(session)
    has_foi = foi >= 0
    for part, with_foi in ((has_foi, True), (~has_foi, False)):
        k = int(part.sum())
        if not k:
            continue
        names = ["id", "datastream_id", "phenomenon_time", "result_number"]
        codes = [">i8", ">i8", ">i8", ">f8"]
        if with_foi:
            names.append("feature_of_interest_id")
            codes.append(">i8")
        layout: list[tuple[str, str]] = [("fields", ">i2")]
        for name, code in zip(names, codes, strict=True):
            layout += [(f"{name}_len", ">i4"), (name, code)]
        rec = np.empty(k, dtype=np.dtype(layout))
        rec["fields"] = len(names)
        for name in names:
            rec[f"{name}_len"] = 8
        rec["id"] = ids[part]
        rec["datastream_id"] = cols.datastream_id[part]
        rec["phenomenon_time"] = cols.phenomenon_time_us[part] - _PG_EPOCH_US
        rec["result_number"] = cols.result_number[part]
        if with_foi:
            rec["feature_of_interest_id"] = foi[part]
        sql = f"COPY sta_observations ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
        with driver.cursor() as cur, cur.copy(sql) as copy:
            copy.write(_BINARY_HEADER + rec.tobytes() + _BINARY_TRAILER)


def _streams(session: Session, ds_ids: list[int], principal: Principal, *, skip_unknown: bool) -> dict[int, StreamMeta]:
    """Step 1: the batch's streams, read and (PostgreSQL) locked in id order; an unknown one is
    refused, or with ``skip_unknown`` left out; the principal must own their Things."""
    meta = stream_meta(session, ds_ids, lock=True)
    unknown = set(ds_ids) - meta.keys()
    if unknown and not skip_unknown:
        raise NotFound(f"no Datastream with @iot.id {min(unknown)}: create it first")
    # readings go only to the principal's own devices (city-level principals: the ingest worker, skip)
    access.require_things(session, principal, {m.thing_id for m in meta.values()}, "an Observation's Datastream")
    return meta


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
    meta = _streams(session, sorted({o.datastream_id for o in observations}), principal, skip_unknown=skip_unknown)
    if len(meta) < len({o.datastream_id for o in observations}):
        observations = [o for o in observations if o.datastream_id in meta]
        if not observations:
            return result
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
    inserted = _insert(session, rows, [o.time_given for o in observations])
    result.stored, result.duplicates = len(inserted), len(rows) - len(inserted)
    result.ids = [r[0] for r in inserted]
    if inserted:
        _stored(
            session,
            meta,
            np.array(result.ids, dtype=np.int64),
            np.array([r[1] for r in inserted], dtype=np.int64),
            np.array([to_us(r[2]) for r in inserted], dtype=np.int64),
            np.array([math.nan if r[3] is None else r[3] for r in inserted], dtype=np.float64),
            principal=principal,
            origin=origin,
        )
    return result


#: Most readings one :func:`store_columns` call takes (a dataArray call of a few megabytes).
MAX_COLUMN_BATCH = 200_000


def store_columns(session: Session, cols: ObservationColumns, *, principal: Principal, origin: str) -> StoreResult:
    """Store plain readings given a column each, all of them or none (the caller's transaction):
    the steps of :func:`store_observations` with the Python work per batch and per stream, not
    per reading. Nothing can conflict (no dedup key), so every row is stored; ``ids`` follow the
    input's order."""
    n = len(cols)
    if not n:
        return StoreResult()
    if n > MAX_COLUMN_BATCH:
        raise InvalidInput(f"at most {MAX_COLUMN_BATCH} observations per request")
    streams = np.unique(cols.datastream_id)
    stream_ids = [int(d) for d in streams]
    meta = _streams(session, stream_ids, principal, skip_unknown=False)
    features = _features(session, {meta[d].thing_id for d in stream_ids})
    per_stream = [features.get(meta[d].thing_id) for d in stream_ids]
    foi = np.array([-1 if f is None else f for f in per_stream], dtype=np.int64)[
        np.searchsorted(streams, cols.datastream_id)
    ]
    if session.get_bind().dialect.name == "postgresql":
        ids = _next_ids(session, n)
        _copy_columns(session, ids, cols, foi)
    else:
        numbers = cols.result_number.tolist()
        rows = [
            {
                "datastream_id": d,
                "phenomenon_time": from_us(t),
                "phenomenon_time_end": None,
                "result_time": None,
                "result_number": numbers[i],
                "result_json": None,
                "result_quality": None,
                "valid_time_start": None,
                "valid_time_end": None,
                "parameters": None,
                "feature_of_interest_id": None if f < 0 else f,
                "dedup_key": None,
            }
            for i, (d, t, f) in enumerate(
                zip(cols.datastream_id.tolist(), cols.phenomenon_time_us.tolist(), foi.tolist(), strict=True)
            )
        ]
        ids = np.array([r[0] for r in _insert(session, rows)], dtype=np.int64)
    _stored(
        session,
        meta,
        ids,
        cols.datastream_id,
        cols.phenomenon_time_us,
        cols.result_number,
        principal=principal,
        origin=origin,
    )
    return StoreResult(stored=n, ids=ids.tolist())


def _advance(
    meta: dict[int, StreamMeta],
    ds: npt.NDArray[np.int64],
    t: npt.NDArray[np.int64],
    v: npt.NDArray[np.float64],
) -> None:
    """Move each stream's time extent and newest two numeric readings past a slice of the batch
    (sorted by stream, then time): per stream, not per reading. A reading older than the
    stream's newest does not displace it; every later one does, in time order."""
    streams, starts = np.unique(ds, return_index=True)
    ends = [*starts[1:].tolist(), len(ds)]
    for d, s, e in zip(streams.tolist(), starts.tolist(), ends, strict=True):
        m = meta[d]
        first, last = int(t[s]), int(t[e - 1])
        if m.phenomenon_time_start is not None:
            first = min(first, to_us(m.phenomenon_time_start))
        if m.phenomenon_time_end is not None:
            last = max(last, to_us(m.phenomenon_time_end))
        m.phenomenon_time_start, m.phenomenon_time_end = from_us(first), from_us(last)
        takes = ~np.isnan(v[s:e])
        if m.last_time is not None:
            takes &= t[s:e] >= to_us(m.last_time)
        taken = np.flatnonzero(takes)
        if not len(taken):
            continue
        newest = s + int(taken[-1])
        if len(taken) > 1:
            before = s + int(taken[-2])
            m.prev_result, m.prev_time = float(v[before]), from_us(int(t[before]))
        else:
            m.prev_result, m.prev_time = m.last_result, m.last_time
        m.last_result, m.last_time = float(v[newest]), from_us(int(t[newest]))


_PG_STREAMS = text("""
UPDATE sta_datastreams AS d
SET last_result = u.lr, last_time = u.lt, prev_result = u.pr, prev_time = u.pt,
    phenomenon_time_start = u.ps, phenomenon_time_end = u.pe
FROM unnest(CAST(:id AS bigint[]), CAST(:lr AS float8[]), CAST(:lt AS timestamptz[]), CAST(:pr AS float8[]),
            CAST(:pt AS timestamptz[]), CAST(:ps AS timestamptz[]), CAST(:pe AS timestamptz[]))
     AS u(id, lr, lt, pr, pt, ps, pe)
WHERE d.id = u.id
""")


def _update_streams(session: Session, streams: list[StreamMeta]) -> None:
    """Write the streams' newest readings and time extents: on PostgreSQL one statement over arrays
    (a call of 200 streams as 200 ``UPDATE`` statements cost the server more than its rows), else
    one executemany."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _PG_STREAMS,
            {
                "id": [m.id for m in streams],
                "lr": [m.last_result for m in streams],
                "lt": [m.last_time for m in streams],
                "pr": [m.prev_result for m in streams],
                "pt": [m.prev_time for m in streams],
                "ps": [m.phenomenon_time_start for m in streams],
                "pe": [m.phenomenon_time_end for m in streams],
            },
        )
        return
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
        [
            {
                "b_id": m.id,
                "b_lr": m.last_result,
                "b_lt": m.last_time,
                "b_pr": m.prev_result,
                "b_pt": m.prev_time,
                "b_ps": m.phenomenon_time_start,
                "b_pe": m.phenomenon_time_end,
            }
            for m in streams
        ],
        execution_options={"synchronize_session": False},
    )


def _stored(
    session: Session,
    meta: dict[int, StreamMeta],
    ids: npt.NDArray[np.int64],
    ds: npt.NDArray[np.int64],
    t: npt.NDArray[np.int64],
    v: npt.NDArray[np.float64],
    *,
    principal: Principal,
    origin: str,
) -> None:
    """Steps 3 and 4 for the rows stored (ids, streams, instants in µs, results with NaN for
    none): the streams' state and their Things' health, and one event per ``MAX_BATCH`` rows
    (sorted by stream and time), each with the streams' state before it."""
    order = np.lexsort((ids, t, ds))
    ids, ds, t, v = ids[order], ds[order], t[order], v[order]
    instants = np.datetime_as_string(t.astype("datetime64[us]"), unit="us", timezone="UTC").tolist()
    values = v.tolist()
    if np.isnan(v).any():
        values = [None if x != x else x for x in values]  # NaN stands for a result that is not a number
    observations = [list(r) for r in zip(ids.tolist(), ds.tolist(), instants, values, strict=True)]
    reported: set[int] = set()
    for start in range(0, len(ids), MAX_BATCH):
        stop = start + MAX_BATCH
        touched = [int(d) for d in np.unique(ds[start:stop])]
        # for the rules, judging the batch after commit: the streams' state before it
        previous = {
            str(m.id): [m.last_result, m.last_time.isoformat() if m.last_time else None]
            for m in (meta[d] for d in touched)
            if m.last_result is not None
        }
        back = sorted({meta[d].thing_id for d in touched if not meta[d].available} - reported)
        reported.update(back)
        _advance(meta, ds[start:stop], t[start:stop], v[start:stop])
        chunk = observations[start:stop]
        events.publish(
            session,
            OBSERVATIONS_STORED,
            # built here from the rows just written: nothing to validate (50,000 readings cost 0.1 s to)
            ObservationsStored.model_construct(
                origin=origin, count=len(chunk), observations=chunk, previous=previous, back=back
            ),
            principal=principal,
            reason=f"{len(chunk)} observations stored ({origin})",
        )
    touched_all = [int(d) for d in np.unique(ds)]
    _update_streams(session, [meta[d] for d in touched_all])
    things = sorted({meta[d].thing_id for d in touched_all})
    session.execute(
        update(Thing).where(Thing.id.in_(things)).values(last_seen_at=clock.now(), available=True),
        execution_options={"synchronize_session": False},
    )
