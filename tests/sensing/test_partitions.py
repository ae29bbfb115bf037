"""Observations partitioned by week on PostgreSQL (migration 0032, ``onecity.sensing.partitions``).

The PostgreSQL tests share one database of their own, made at the migration before 0032 and
filled with readings there, then upgraded: what the migration did to those readings is what
the first test reads. They run in this file's order (each later one starts from the state the
earlier ones left, and says what it relies on). SQLite keeps its plain table: the last test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from onecity.core import clock, migrate
from onecity.core.bus import connect_bus
from onecity.core.config import Environment, Settings
from onecity.core.db import Database
from onecity.core.tasks import TaskContext
from onecity.sensing import partitions
from onecity.sensing.ingest import message_key, parse_observation, store_observations
from onecity.sensing.models import Datastream, ObservedProperty, Sensor, Thing
from onecity.sensing.partitions import DEFAULT, maintain, partition_name, week_start
from tests.conftest import SYSTEM

BEFORE = "0031_svc_kept_uploads"
NOW = datetime.now(UTC)
#: Readings stored before the migration: (id, phenomenon time, dedup key).
OLD_ROWS = [
    (1, NOW - timedelta(days=800), "k-old"),  # more than two years back: a partition of its own, dropped by retention
    (2, NOW - timedelta(days=3), "k-recent"),
    (3, NOW - timedelta(hours=1), None),
    (4, NOW + timedelta(days=60), "k-ahead"),  # past the two weeks ahead: DEFAULT
]


def _stream(db: Database) -> int:
    with db.transaction() as session:
        thing = Thing(name="gauge", description="")
        sensor = Sensor(name="s", description="", encoding_type="text/plain", sensor_metadata="")
        prop = ObservedProperty(name="water_level", definition="x", description="")
        session.add_all([thing, sensor, prop])
        session.flush()
        ds = Datastream(
            name="level",
            description="",
            observation_type="OM_Measurement",
            unit_of_measurement={"name": "m"},
            thing_id=thing.id,
            sensor_id=sensor.id,
            observed_property_id=prop.id,
        )
        session.add(ds)
        session.flush()
        return ds.id


@pytest.fixture(scope="module")
def part_db(pg_url: str) -> Iterator[tuple[Database, int]]:
    """A database of this file's own at the migration before 0032, with readings, then upgraded."""
    admin = Database(pg_url)
    name = pg_url.rsplit("/", 1)[1] + "_partitions"
    url = pg_url.rsplit("/", 1)[0] + "/" + name
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(url)
    try:
        migrate.upgrade(db, BEFORE)
        ds = _stream(db)
        with db.engine.begin() as conn:
            for i, t, key in OLD_ROWS:
                conn.execute(
                    text(
                        "INSERT INTO sta_observations (id, datastream_id, phenomenon_time, result_number, dedup_key) "
                        "VALUES (:i, :ds, :t, :v, :k)"
                    ),
                    {"i": i, "ds": ds, "t": t, "v": float(i), "k": key},
                )
            conn.execute(text("SELECT setval('sta_observations_id_seq', 4)"))
        migrate.upgrade(db)
        yield db, ds
    finally:
        db.dispose()
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _where(db: Database) -> dict[int, str]:
    """Each reading's id and the partition holding it."""
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, tableoid::regclass::text FROM sta_observations")).all()
    return {int(i): str(p) for i, p in rows}


def _store(db: Database, ds: int, body: dict[str, Any], *, now: datetime, topic: str = "") -> tuple[int, int]:
    payload = repr(sorted(body.items())).encode()
    obs = parse_observation(body, ds, now=now, dedup_key=message_key(topic or f"v1.1/Datastreams({ds})", payload))
    with db.transaction() as session:
        r = store_observations(session, [obs], principal=SYSTEM, origin="test")
    return r.stored, r.duplicates


@pytest.mark.postgres
def test_the_migration_keeps_every_reading_in_its_week(part_db: tuple[Database, int]) -> None:
    db, ds = part_db
    with db.engine.connect() as conn:
        assert partitions.is_partitioned(conn)
        rows = conn.execute(
            text(
                "SELECT id, datastream_id, phenomenon_time, result_number, dedup_key FROM sta_observations ORDER BY id"
            )
        ).all()
        have = {p.name for p in partitions.partitions(conn)}
        next_id = conn.scalar(text("SELECT nextval(pg_get_serial_sequence('sta_observations', 'id'))"))
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [(i, ds, t, float(i), k) for i, t, k in OLD_ROWS]
    where = _where(db)
    for i, t, _ in OLD_ROWS[:3]:
        assert where[i] == partition_name(week_start(t))
    assert where[4] == DEFAULT
    # every week from the oldest reading's to two weeks ahead, and nothing past them
    current = week_start(NOW)
    assert partition_name(current + 2 * partitions.PERIOD) in have
    assert partition_name(current + 3 * partitions.PERIOD) not in have
    assert len(have) == (current - week_start(OLD_ROWS[0][1])).days // 7 + 3 + 1  # + DEFAULT
    assert next_id == 5  # the ids go on from the same sequence
    # the drift check knows the partitioned table, and still sees drift on it
    assert migrate.drift(db) == []
    with db.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_sta_observations_feature_of_interest_id"))
    try:
        assert [d[0] for d in migrate.drift(db)] == ["add_index"]
    finally:
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE INDEX ix_sta_observations_feature_of_interest_id "
                    "ON sta_observations (feature_of_interest_id)"
                )
            )


@pytest.mark.postgres
def test_a_reading_far_in_the_past_or_future_is_stored_and_a_duplicate_is_not(part_db: tuple[Database, int]) -> None:
    db, ds = part_db
    for when in ("1990-06-01T00:00:00Z", "2090-06-01T00:00:00Z", NOW.isoformat()):
        body = {"result": 1.5, "phenomenonTime": when}
        assert _store(db, ds, body, now=NOW) == (1, 0)
        assert _store(db, ds, body, now=NOW + timedelta(minutes=5)) == (0, 1)  # the same message again
    where = _where(db)
    with db.engine.connect() as conn:
        placed: dict[datetime, str] = dict(
            conn.execute(text("SELECT phenomenon_time, tableoid::regclass::text FROM sta_observations")).all()
        )
    assert placed[datetime(1990, 6, 1, tzinfo=UTC)] == DEFAULT
    assert placed[datetime(2090, 6, 1, tzinfo=UTC)] == DEFAULT
    assert len(where) == len(OLD_ROWS) + 3


@pytest.mark.postgres
def test_a_message_without_phenomenon_time_delivered_twice_is_stored_once(part_db: tuple[Database, int]) -> None:
    """Its phenomenon time is when the worker parsed it, which differs between deliveries: the
    partition key alone would keep the redelivery (see ``onecity.sensing.partitions``)."""
    db, ds = part_db
    body = {"result": 7.25}
    assert _store(db, ds, body, now=NOW, topic="no-time") == (1, 0)
    assert _store(db, ds, body, now=NOW + timedelta(seconds=40), topic="no-time") == (0, 1)
    assert _store(db, ds, body, now=NOW - timedelta(seconds=5), topic="no-time") == (0, 1)  # a worker's clock behind
    # a batch holding the message twice, and HTTP rows (no key) at the same time as each other
    obs = [parse_observation(body, ds, now=NOW, dedup_key=message_key("twice", b"x")) for _ in range(2)]
    obs += [parse_observation({"result": 1, "phenomenonTime": NOW.isoformat()}, ds) for _ in range(2)]
    with db.transaction() as session:
        r = store_observations(session, obs, principal=SYSTEM, origin="test")
    assert (r.stored, r.duplicates) == (3, 1)


@pytest.mark.postgres
def test_the_task_makes_weeks_ahead_moves_default_rows_in_and_is_idempotent(part_db: tuple[Database, int]) -> None:
    db, ds = part_db
    later = NOW + timedelta(weeks=5)  # five weeks on: the migration's partitions end three weeks before
    body = {"result": 3.0, "phenomenonTime": (later + timedelta(days=1)).isoformat()}
    assert _store(db, ds, body, now=NOW) == (1, 0)
    before = _where(db)
    done = maintain(db, now=later, retention_months=0)
    # to two weeks past ``later``, and on to the week of the reading stored 60 days ahead
    last = (week_start(OLD_ROWS[3][1]) - week_start(NOW)).days // 7
    assert done.created == [partition_name(week_start(NOW) + i * partitions.PERIOD) for i in range(3, last + 1)]
    assert done.moved == 2 and not done.dropped and not done.deferred
    after = _where(db)
    assert after.keys() == before.keys()  # nothing lost, nothing added
    moved = [i for i in after if before[i] == DEFAULT and after[i] != DEFAULT]
    assert 4 in moved and all(after[i] == partition_name(week_start(t)) for i, t, _ in OLD_ROWS[3:])
    assert maintain(db, now=later, retention_months=0) == partitions.Maintained()  # a second round: nothing to do
    # a week created as a table of its own and attached: the parent's indexes and keys came with it
    with db.engine.connect() as conn:
        indexes = conn.scalar(
            text("SELECT count(*) FROM pg_indexes WHERE tablename = :t"),
            {"t": partition_name(week_start(later))},
        )
    assert indexes == 4  # primary key, dedup, stream and time, feature of interest
    assert _store(db, ds, body, now=later) == (0, 1)  # the moved reading still deduplicates


@pytest.mark.postgres
def test_retention_drops_only_weeks_wholly_past_it(part_db: tuple[Database, int]) -> None:
    db, _ = part_db
    with db.engine.connect() as conn:
        have = partitions.partitions(conn)
    line = partitions.retention_line(NOW, 13)
    assert line is not None
    old = [p.name for p in have if p.end is not None and p.end <= line]
    straddling = partition_name(week_start(line))
    assert old and straddling in {p.name for p in have}
    before = _where(db)
    done = maintain(db, now=NOW, retention_months=13)
    assert sorted(done.dropped) == sorted(old)
    assert done.deleted == 1  # the 1990 reading in DEFAULT; 2090's stays
    after = _where(db)
    assert set(before) - set(after) == {1, min(i for i, p in before.items() if p == DEFAULT and i > 4)}
    with db.engine.connect() as conn:
        left = {p.name for p in partitions.partitions(conn)}
    assert straddling in left and not set(old) & left  # the week the line falls in is kept whole
    assert maintain(db, now=NOW, retention_months=13) == partitions.Maintained()  # idempotent
    assert maintain(db, now=NOW, retention_months=0) == partitions.Maintained()  # 0 keeps for ever


@pytest.mark.postgres
def test_the_task_goes_by_the_wall_clock(part_db: tuple[Database, int]) -> None:
    """A frozen (or simulated) clock years ahead neither drops real readings nor makes years of
    weeks. Relies on the retention test: at 13 months by the wall clock nothing is left to drop."""
    db, _ = part_db
    settings = Settings(env=Environment.TEST, database_url=db.url, sensing_retention_months=13)
    before = _where(db)
    with clock.frozen(datetime(2036, 12, 4, 9, 0, tzinfo=UTC)):
        done = partitions.run(TaskContext(db, settings, connect_bus("memory://")))
    assert done == partitions.Maintained()
    assert _where(db) == before


@pytest.mark.postgres
def test_a_backfilled_week_gets_its_partition_and_the_weeks_up_to_the_others(part_db: tuple[Database, int]) -> None:
    """Relies on the retention test: the oldest partition is now the retention line's week."""
    db, ds = part_db
    with db.engine.connect() as conn:
        oldest = min(p.start for p in partitions.partitions(conn) if p.start is not None)
    when = oldest - timedelta(weeks=3) + timedelta(hours=5)
    assert _store(db, ds, {"result": 4.0, "phenomenonTime": when.isoformat()}, now=NOW) == (1, 0)
    (new_id,) = [i for i, p in _where(db).items() if p == DEFAULT and i > 4 and i not in _ids_at(db, 2090)]
    done = maintain(db, now=NOW, retention_months=0)
    assert done.created == [partition_name(oldest - timedelta(weeks=w)) for w in (3, 2, 1)]
    assert done.moved == 1 and _where(db)[new_id] == partition_name(week_start(when))


def _ids_at(db: Database, year: int) -> set[int]:
    with db.engine.connect() as conn:
        found = conn.scalars(
            text("SELECT id FROM sta_observations WHERE extract(year FROM phenomenon_time) = :y"), {"y": year}
        )
        return {int(i) for i in found}


@pytest.mark.postgres
def test_a_time_filtered_query_reads_only_its_week(part_db: tuple[Database, int]) -> None:
    db, ds = part_db
    start = week_start(NOW) + timedelta(days=1)
    with db.engine.connect() as conn:
        plan = conn.scalar(
            text(
                "EXPLAIN (FORMAT JSON) SELECT * FROM sta_observations WHERE datastream_id = :ds "
                "AND phenomenon_time >= :s AND phenomenon_time < :e ORDER BY phenomenon_time DESC LIMIT 100"
            ),
            {"ds": ds, "s": start, "e": start + timedelta(days=1)},
        )
    read: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node:
            read.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    assert read == {partition_name(week_start(NOW))}


def test_sqlite_keeps_its_plain_table(sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "x.db")
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert maintain(db, now=NOW, retention_months=1) == partitions.Maintained()
        ds = _stream(db)
        body = {"result": 2.0}
        assert _store(db, ds, body, now=NOW) == (1, 0)
        assert _store(db, ds, body, now=NOW + timedelta(minutes=1)) == (0, 1)  # one message, one reading, as ever
        with db.engine.connect() as conn:
            sql = conn.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'sta_observations'"))
        assert "UNIQUE (datastream_id, dedup_key)" in sql and "PRIMARY KEY (id)" in sql
    finally:
        db.dispose()
