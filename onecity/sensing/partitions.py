"""Observations partitioned by week on PostgreSQL: partitions made ahead, and retention.

On PostgreSQL ``sta_observations`` is range-partitioned by ``phenomenon_time`` (migration
0032): one partition per week, Monday 00:00 UTC to the next (``sta_observations_w20261130``),
and a DEFAULT partition (``sta_observations_default``). SQLite keeps one plain table; nothing
here runs there.

**Why weeks.** A city at scale 1 sends about 7.3 million readings a day (``docs/sensing.md``:
12,707 stations every 5 minutes, 150,000 manhole and smoke sensors every hour): ~51 million rows
a week, ~220 million a month. The partition being written takes every insert into its four
indexes; a week of them (~15 GB with indexes at ~300 bytes a row) stays in a database server's
memory where a month (~65 GB) would not, and retention frees a week at a time. Thirteen months
kept are ~57 partitions, well within what PostgreSQL prunes at plan and run time; a query with a
time filter (``$filter=phenomenonTime ge …``) reads only the weeks it names.

**No reading is lost or refused because of partitioning.** A reading whose week has no
partition (a clock set years back, a backfill of last year's readings, or more than
:data:`AHEAD` weeks ahead) goes to the DEFAULT partition. :func:`maintain` (the
``sensing.partitions`` task, hourly, once per deployment: the leader's) creates the current
week's and the next :data:`AHEAD` weeks' partitions before they are needed, so live readings
never land in DEFAULT; it also gives a partition to every week from the oldest partition, or
the oldest week DEFAULT holds readings of, to the newest of those weeks (within retention, at
most :data:`MAX_WEEKS_BACK` weeks back and :data:`MAX_WEEKS_AHEAD` ahead, so a device clock
reading 1970 or 2090 does not make decades of weeks), and when it creates a week that DEFAULT
holds readings of, it moves them into the new partition in the same transaction. A partition
is made as a table of its own with a CHECK of its range and then attached, the table locked
for the milliseconds that takes (a statement planned with the old partitions would miss rows
moved out of DEFAULT); DEFAULT, kept small, is the only partition scanned.

**Retention.** ``ONECITY_SENSING_RETENTION_MONTHS`` (default 13: a year back and the month
before, so this season can be compared with last year's; 0 keeps every reading for ever). A
partition whose whole week ended more than that many months ago is detached and dropped, and
DEFAULT's readings older than the same line are deleted. The line is a calendar one: with 13
months on 5 December 2026 it is 5 November 2025. Dropping is not written to the audit log:
housekeeping's trimming is not either (:mod:`onecity.core.housekeeping`), observations are not
audited when written (``docs/sensing.md``), and the setting itself is the record of the policy;
each drop is logged with its partition, its bounds and its estimated row count.

**The dedup key and the partition key.** PostgreSQL requires every unique constraint of a
partitioned table to include the partition key, so the constraint that makes a redelivered MQTT
message a no-op is ``(datastream_id, dedup_key, phenomenon_time)`` there, and the ingest's
``ON CONFLICT`` names those three columns (:mod:`onecity.sensing.ingest`). Checked in the code
rather than assumed: ``dedup_key`` is BLAKE2b of the topic and the payload's bytes
(``ingest.message_key``), and ``phenomenon_time`` is parsed from the same bytes
(``ingest.parse_observation``), so two deliveries of one message carry the same three values and
the third column changes nothing, *when the message states its phenomenonTime*. When it does not,
the time is the one the worker parsed it at (``now``), which differs between deliveries: the
three-column constraint alone would keep a redelivery as a second reading. So for those rows
(``NewObservation.time_given`` false) the PostgreSQL insert also skips a row whose
``(datastream_id, dedup_key)`` is already stored with a phenomenon time within a day of its own
(one index probe, ~6 µs, pruned at run time to the week around it; only for those rows: as an
anti-join for every row it doubled the statement's time). A redelivery comes within seconds to
minutes (JetStream's ack wait, 30 s; an MQTT session's expiry, 10 minutes), and the
datastream's row lock, which every store takes first, keeps two deliveries in flight at once
from both passing the probe. SQLite keeps the two-column constraint, exactly as before.

Every change takes all its locks first, each with a ``lock_timeout`` shorter than PostgreSQL's
deadlock timeout (:func:`_locked`): a change that cannot have them now is tried again a second
later, or next round, rather than queueing ingest behind it or making PostgreSQL abort a
transaction of readings to break a lock cycle.
"""

from __future__ import annotations

import calendar
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, text

from onecity.core.db import Database

if TYPE_CHECKING:
    from onecity.core.tasks import TaskContext

log = logging.getLogger(__name__)
T = TypeVar("T")

PARENT = "sta_observations"
DEFAULT = "sta_observations_default"
#: One partition's span.
PERIOD = timedelta(weeks=1)
#: Weeks after the current one that have their partition before a reading arrives.
AHEAD = 2
#: How far back a week is given a partition (five years, as migration 0032 did); older readings stay in DEFAULT.
MAX_WEEKS_BACK = 260
#: How far ahead of now a week DEFAULT holds readings of is given a partition (a year).
MAX_WEEKS_AHEAD = 53
#: How long one lock is waited for before the change is given up and tried again: below
#: PostgreSQL's ``deadlock_timeout`` (1 s), so in a lock cycle with an ingest transaction this
#: task gives up first and the reading's transaction goes on (see :func:`_locked`).
LOCK_TIMEOUT = "200ms"
#: Tries within a round, a second apart, before a change waits for the next round.
LOCK_TRIES = 10
#: What the foreign keys point at: attaching a partition clones its foreign keys (SHARE ROW
#: EXCLUSIVE on these), dropping one removes its triggers from them (ACCESS EXCLUSIVE).
REFERENCED = ("sta_datastreams", "sta_features_of_interest")

_BOUND = re.compile(r"FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True)
class Partition:
    name: str
    #: Its range ``[start, end)``; both None for DEFAULT (or a bound PostgreSQL wrote as MINVALUE/MAXVALUE).
    start: datetime | None
    end: datetime | None


@dataclass
class Maintained:
    created: list[str] = field(default_factory=list)
    #: Readings moved from DEFAULT into the partitions created.
    moved: int = 0
    dropped: list[str] = field(default_factory=list)
    #: DEFAULT's readings deleted by retention.
    deleted: int = 0
    #: Partitions that could not be attached or detached this round (the table was busy).
    deferred: list[str] = field(default_factory=list)


def week_start(t: datetime) -> datetime:
    """Monday 00:00 UTC of ``t``'s week: where its partition starts."""
    t = t.astimezone(UTC)
    return datetime(t.year, t.month, t.day, tzinfo=UTC) - timedelta(days=t.weekday())


def partition_name(start: datetime) -> str:
    return f"{PARENT}_w{start:%Y%m%d}"


def months_before(t: datetime, months: int) -> datetime:
    """The same moment ``months`` calendar months earlier (the 31st becomes the month's last day)."""
    y, m = divmod(t.year * 12 + t.month - 1 - months, 12)
    return t.replace(year=y, month=m + 1, day=min(t.day, calendar.monthrange(y, m + 1)[1]))


def retention_line(now: datetime, months: int) -> datetime | None:
    """Readings before this are past retention; None keeps every reading."""
    return months_before(now, months) if months > 0 else None


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.scalar(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": PARENT})
    return bool(kind == "p")


def partitions(conn: Connection) -> list[Partition]:
    """The table's partitions and their bounds, as the database holds them, oldest first."""
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": PARENT},
    ).all()
    out: list[Partition] = []
    for name, bound in rows:
        m = _BOUND.search(bound or "")
        start = end = None
        if m:
            start, end = (datetime.fromisoformat(v).astimezone(UTC) for v in m.groups())
        out.append(Partition(name, start, end))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(out, key=lambda p: (p.start or far, p.name))


def _floor(now: datetime, line: datetime | None) -> datetime:
    """The oldest week given a partition: not past retention, nor more than :data:`MAX_WEEKS_BACK` back."""
    floor = week_start(now) - MAX_WEEKS_BACK * PERIOD
    return floor if line is None else max(floor, week_start(line))


def _default_weeks(conn: Connection, now: datetime, line: datetime | None) -> list[datetime]:
    """The weeks DEFAULT holds readings of that should have a partition (a backfill, a late
    batch, a simulation or a device clock running ahead): from :func:`_floor` to
    :data:`MAX_WEEKS_AHEAD` weeks on. DEFAULT is meant to be near empty, so this reads it whole
    once a round."""
    weeks = conn.scalars(
        text(
            f"SELECT DISTINCT date_trunc('week', phenomenon_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
            f"FROM {DEFAULT} WHERE phenomenon_time >= :lo AND phenomenon_time < :hi"
        ),
        {"lo": _floor(now, line), "hi": week_start(now) + (MAX_WEEKS_AHEAD + 1) * PERIOD},
    )
    return sorted(w.astimezone(UTC) for w in weeks)


def _wanted(
    have: list[Partition], now: datetime, line: datetime | None, ahead: int, found: list[datetime]
) -> list[datetime]:
    """Week starts that need a partition, not yet covered: every week from the oldest weekly
    partition or the oldest week ``found`` in DEFAULT (not before :func:`_floor`) to ``ahead``
    weeks after ``now``'s, or to the newest week ``found``."""
    current = week_start(now)
    starts = [p.start for p in have if p.start is not None]
    first = max(min([*starts, *found, current]), _floor(now, line))
    last = max([current + ahead * PERIOD, *found])
    covered = [(p.start, p.end) for p in have if p.start is not None and p.end is not None]
    out: list[datetime] = []
    week = week_start(first)
    while week <= last:
        end = week + PERIOD
        if not any(s < end and week < e for s, e in covered):
            out.append(week)
        week = end
    return out


def _locked(db: Database, locks: list[str], work: Callable[[Connection], T]) -> T:
    """Run ``work`` in a transaction that first takes every lock it needs, each within
    :data:`LOCK_TIMEOUT`, trying :data:`LOCK_TRIES` times.

    An ingest transaction takes the streams' rows, then writes features, observations (DEFAULT
    among them) and the streams; a partition's DDL needs DEFAULT and the referenced tables too.
    Taking them all before any work, each with a wait shorter than the deadlock detector's,
    means that in a cycle this task's wait ends first and the readings' transaction is never the
    one PostgreSQL aborts (it was: a dataArray request failed in a test while a week was made).
    """
    for attempt in range(LOCK_TRIES):
        try:
            with db.engine.begin() as conn:
                conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                for lock in locks:
                    conn.execute(text(lock))
                return work(conn)
        except Exception as err:
            if not _busy(err) or attempt == LOCK_TRIES - 1:
                raise
            time.sleep(1.0)
    raise AssertionError("unreachable")


def _create(db: Database, start: datetime) -> int:
    """Create ``start``'s week, moving DEFAULT's readings of it in; returns how many moved."""
    end, name = start + PERIOD, partition_name(start)
    bounds = {"s": start, "e": end}
    locks = [
        # not only the SHARE UPDATE EXCLUSIVE that ATTACH needs: a statement planned with the
        # partitions as they were would miss the rows moved out of DEFAULT (a dataArray test's
        # GET of a reading just stored found nothing), and a writer could route a row to DEFAULT
        # that no longer belongs there; so statements on the table wait the few milliseconds
        f"LOCK TABLE ONLY {PARENT} IN ACCESS EXCLUSIVE MODE",
        f"LOCK TABLE {DEFAULT} IN ACCESS EXCLUSIVE MODE",  # attaching scans it
        f"LOCK TABLE {', '.join(REFERENCED)} IN SHARE ROW EXCLUSIVE MODE",
    ]

    def work(conn: Connection) -> int:
        conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
        # lets the attach skip scanning the new table for rows outside its range
        conn.execute(
            text(
                f"ALTER TABLE {name} ADD CONSTRAINT {name}_range "
                f"CHECK (phenomenon_time >= '{start.isoformat()}' AND phenomenon_time < '{end.isoformat()}')"
            )
        )
        moved = conn.execute(
            text(
                f"WITH m AS (DELETE FROM {DEFAULT} WHERE phenomenon_time >= :s AND phenomenon_time < :e RETURNING *) "
                f"INSERT INTO {name} SELECT * FROM m"
            ),
            bounds,
        ).rowcount
        conn.execute(
            text(
                f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
        )
        conn.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_range"))
        return int(moved or 0)

    return _locked(db, locks, work)


def _drop(db: Database, p: Partition) -> None:
    locks = [
        f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE",  # what DETACH takes (and of every partition)
        f"LOCK TABLE {', '.join(REFERENCED)} IN ACCESS EXCLUSIVE MODE",  # the dropped table's triggers on them
    ]

    def work(conn: Connection) -> int:
        rows = conn.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:t)"), {"t": p.name})
        conn.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {p.name}"))
        conn.execute(text(f"DROP TABLE {p.name}"))
        return max(int(rows or 0), 0)

    rows = _locked(db, locks, work)
    log.info("retention: dropped %s [%s, %s), about %s readings", p.name, p.start, p.end, rows)


def maintain(db: Database, *, now: datetime, retention_months: int, ahead: int = AHEAD) -> Maintained:
    """One round: drop what retention passed, then create the weeks that are missing. Idempotent:
    a second round at the same time changes nothing. A no-op where the table is not partitioned."""
    done = Maintained()
    with db.engine.connect() as conn:
        if not is_partitioned(conn):
            return done
        have = partitions(conn)
    line = retention_line(now, retention_months)
    if line is not None:
        for p in have:
            if p.end is not None and p.end <= line:
                try:
                    _drop(db, p)
                    done.dropped.append(p.name)
                except Exception as err:
                    if not _busy(err):
                        raise
                    done.deferred.append(p.name)
        with db.engine.begin() as conn:
            deleted = conn.execute(text(f"DELETE FROM {DEFAULT} WHERE phenomenon_time < :line"), {"line": line})
            done.deleted = int(deleted.rowcount or 0)
        if done.deleted:
            log.info("retention: deleted %d readings before %s from %s", done.deleted, line, DEFAULT)
        have = [p for p in have if p.name not in done.dropped]
    with db.engine.connect() as conn:
        found = _default_weeks(conn, now, line)
    for start in _wanted(have, now, line, ahead, found):
        try:
            done.moved += _create(db, start)
            done.created.append(partition_name(start))
        except Exception as err:
            if not _busy(err):
                raise
            done.deferred.append(partition_name(start))
    if done.moved or done.deleted:
        # the rows that left DEFAULT are dead tuples its index scans still step over until vacuumed
        # (19 ms for each stream's latest reading after 370,000 moved, 0.1 ms after): do it now
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM (ANALYZE) {DEFAULT}"))
    if done.created or done.deferred:
        log.info("sensing partitions: %s", done)
    return done


def _busy(err: Exception) -> bool:
    """A lock not granted within :data:`LOCK_TIMEOUT` (55P03) or a deadlock (40P01): next round."""
    return getattr(getattr(err, "orig", None), "sqlstate", None) in {"55P03", "40P01"}


def run(ctx: TaskContext) -> Maintained:
    """The ``sensing.partitions`` task (hourly; on PostgreSQL the deployment's leader runs it).

    It goes by the wall clock, not :func:`onecity.core.clock.now`, which tests freeze and the
    simulation drives ahead: retention must never drop real readings because a simulated clock
    ran years on, nor should a frozen test clock make years of partitions. A simulation's
    readings ahead of the wall clock wait in DEFAULT until their week is within
    :data:`MAX_WEEKS_AHEAD`, and are never lost."""
    return maintain(ctx.db, now=datetime.now(UTC), retention_months=ctx.settings.sensing_retention_months)
