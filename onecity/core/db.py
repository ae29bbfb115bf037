"""Storage: engines, sessions, the declarative base and the mixins every model shares.

SQLite (the embedded default) runs in WAL mode with foreign keys on, and every transaction
starts with ``BEGIN IMMEDIATE``: SQLite has one writer, and taking the write lock up front
means a transaction that read something never fails later when it tries to write (no
``SQLITE_BUSY_SNAPSHOT``), it waits its turn instead. PostgreSQL needs none of this.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, String, Table, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator

from onecity.core import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use onecity.core.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def table_of(model: type[Base]) -> Table:
    """The ``Table`` a mapped class is declared on. SQLAlchemy types ``__table__`` as any
    ``FromClause`` (a class may be mapped onto a join or a select); every model here is mapped
    onto one table, and bulk writers need its ``Table`` to build inserts."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped onto a single table")
    return table


#: The generator :func:`new_id` draws from inside :func:`seeded_ids` (None: the operating system's).
_seeded: list[random.Random | None] = [None]


def new_id() -> str:
    """A random UUID (version 4); inside :func:`seeded_ids`, drawn from the run's seeded generator."""
    rng = _seeded[0]
    if rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@contextmanager
def seeded_ids(seed: int, salt: int = 0) -> Iterator[None]:
    """New ids come from a generator seeded with ``seed`` and ``salt`` until the block ends, for an offline
    simulation (``onecity simulate``) to replay the same seed exactly.

    Rows made at one simulated moment (the clock stands still for a step) are ordered by their ids where
    the order matters: the operations clocks' sweep, two cases after a unit's last crew, the simulated
    people's turns. With random ids the same seed gave different figures in each run. ``salt`` keeps a
    second run over the same database from making the first one's ids again. Never around a server
    whose people use it: their ids must stay unguessable.
    """
    previous = _seeded[0]
    _seeded[0] = random.Random(f"{seed}:{salt}")
    try:
        yield
    finally:
        _seeded[0] = previous


_ordered_lock = threading.Lock()
_ordered_last = [0, 0]  # the last ordered id's millisecond and counter


def ordered_id() -> str:
    """A UUIDv7 (RFC 9562): the millisecond, then a counter, then random bits, so the ids one process
    makes sort in the order it made them (as text too: fixed width, lower-case hex).

    For rows whose order matters among equal timestamps — the outbox: a simulation freezes the clock for
    a step, and events of one step ordered by a random UUID reached their consumers in a different order
    each run, so the same seed gave different figures. Across processes, ids sort by the time they were
    made, which is the order the events happened as far as anyone can tell.
    """
    with _ordered_lock:
        ms = time.time_ns() // 1_000_000
        if ms > _ordered_last[0]:
            counter = 0
        else:  # the same millisecond (or the wall clock stepped back): keep counting past the last id
            ms, counter = _ordered_last[0], _ordered_last[1] + 1
            if counter > 0xFFF:  # 4,096 ids in one millisecond: borrow the next one
                ms, counter = ms + 1, 0
        _ordered_last[0], _ordered_last[1] = ms, counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    return str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand_b))


#: An ordered id's millisecond and counter as one number, ``ms * TICKS + counter`` (12 counter bits).
TICKS = 0x1000


def reserve_ordered(n: int) -> int:
    """Reserve the places of ``n`` consecutive :func:`ordered_id` ids, for a statement that makes them
    inside the database (:func:`ordered_id_sql`): the first place as ``ms * TICKS + counter``. The
    ids this process makes afterwards sort after the whole block."""
    with _ordered_lock:
        ms = time.time_ns() // 1_000_000
        first = ms * TICKS if ms > _ordered_last[0] else _ordered_last[0] * TICKS + _ordered_last[1] + 1
        last = first + max(n, 1) - 1
        _ordered_last[0], _ordered_last[1] = divmod(last, TICKS)
    return first


def ordered_id_sql(place: str, dialect: str) -> str:
    """SQL for the :func:`ordered_id` at ``place`` (an integer expression, ``ms * TICKS + counter``:
    :func:`reserve_ordered`'s first place plus the row's number), the random bits drawn by the database."""
    if dialect == "postgresql":
        hexed = f"lpad(to_hex(({place}) >> 12), 12, '0')"
        counter = f"lpad(to_hex(({place}) & 4095), 3, '0')"
        # gen_random_uuid()'s fourth and fifth groups: the variant bits and 62 random bits
        return (
            f"substr({hexed}, 1, 8) || '-' || substr({hexed}, 9, 4) || '-7' || {counter} || '-' "
            "|| substr(gen_random_uuid()::text, 20, 17)"
        )
    hexed = f"printf('%012x', ({place}) >> 12)"
    return (
        f"substr({hexed}, 1, 8) || '-' || substr({hexed}, 9, 4) || '-7' || printf('%03x', ({place}) & 4095) "
        f"|| '-' || {_VARIANT_SQLITE} || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))"
    )


_VARIANT_SQLITE = "substr('89ab', 1 + abs(random() % 4), 1)"


def new_id_sql(dialect: str) -> str:
    """SQL for a :func:`new_id` (a random UUID version 4, lower-case text) drawn by the database, for
    rows made by an ``INSERT … SELECT`` (never from :func:`seeded_ids`' generator)."""
    if dialect == "postgresql":
        return "gen_random_uuid()::text"
    return (
        "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' "
        "|| substr(lower(hex(randomblob(2))), 2) || '-' "
        f"|| {_VARIANT_SQLITE} || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))"
    )


class IdMixin:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)


class TimestampMixin:
    """Created/updated stamps, set by the platform clock."""

    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: clock.now(), onupdate=lambda: clock.now())


class DivisionScopedMixin:
    """Owning administrative division (12-digit GB/T 2260 statistical code).

    The access policy filters every scoped query by a prefix of this code, so a record
    belongs to its township, its district and the municipality at once.
    """

    division_code: Mapped[str] = mapped_column(String(12), index=True)


class DatabaseMissing(RuntimeError):
    """The SQLite file is not there, and this process opens existing databases only."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no database at {path}")
        self.path = path


#: Whether a missing SQLite file is an error rather than a new, empty database (the command line
#: sets it, except for the commands that make one: a command run from the wrong directory must
#: not leave an empty ``var/onecity.db`` behind).
_refuse_missing_sqlite = False


def refuse_missing_sqlite(refuse: bool = True) -> None:
    global _refuse_missing_sqlite
    _refuse_missing_sqlite = refuse


#: The execution option that marks a read-only connection (:meth:`Database.reading`).
READ_ONLY = "onecity_read_only"


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix) :])
    return None


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the platform's connection settings applied."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None and _refuse_missing_sqlite and not path.exists():
            raise DatabaseMissing(path)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=kwargs.pop("pool_size", 4),
            max_overflow=0,
            connect_args={"timeout": 30, "check_same_thread": False},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # a reader's transaction (Database.reading) defers: WAL gives it a snapshot, no writer lock
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return engine


#: A pooled connection unused for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 1.0


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a connection at checkout only when it has sat idle in the pool for a while.

    A pool that outlives a database restart (or a test that ends other backends) would
    otherwise hand out dead connections. SQLAlchemy's ``pool_pre_ping`` pings at every
    checkout: a round trip added to every request, and the most common query the server
    ran under load. A connection returned less than :data:`IDLE_PING_SECONDS` ago was
    working then; a dead one found later is still caught, since a disconnect error makes
    SQLAlchemy discard the whole pool.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as err:  # the driver's own error for a closed connection
            raise DisconnectionError("the pooled connection no longer answers") from err
        if not alive:
            raise DisconnectionError("the pooled connection no longer answers")


def is_busy(err: BaseException) -> bool:
    """Whether ``err`` is the database being busy for a while (SQLite's writer held past the busy
    timeout, or every pooled connection in use): worth a line and another try, not a traceback."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(err, PoolTimeout):
        return True
    return isinstance(err, OperationalError) and any(
        words in str(err.orig) for words in ("database is locked", "database is busy")
    )


class Database:
    """An engine and its session factory: one per process, passed to whoever needs storage."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only. On SQLite its transaction begins deferred: a slow read (an index
        or a map built from thousands of rows) sees a consistent snapshot (WAL) without taking the one
        writer, so requests and the simulation writing meanwhile do not wait for it. Do not write in it."""
        with self._readers() as session:
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


class DriverStatement:
    """A statement in PostgreSQL's own SQL, run straight on the driver's connection (psycopg).

    For a hot statement whose set-up in SQLAlchemy's execution layer (execution context, bind
    processing, result metadata, events: ~0.2 ms a call) costs more than the database's own work.
    Keep it under 4,096 characters and 50 parameters, so psycopg converts it once and remembers
    (a row can travel as one JSON parameter: ``json_populate_record``); it is prepared on each
    connection at its first use. It runs in the session's transaction, or commits as it returns on
    a connection in ``AUTOCOMMIT`` (``audit.statement_at_a_time``). A driver error is raised as
    SQLAlchemy's (``DBAPIError``), and a lost connection is invalidated, as there.
    """

    def __init__(self, sql: str) -> None:
        self.sql = sql

    def first(self, session: Session, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row the statement returns (on ``session``'s connection), or None."""
        row: tuple[Any, ...] | None = self._execute(session, params).fetchone()
        return row

    def run(self, session: Session, params: dict[str, Any]) -> int:
        """Run a statement that returns no rows (on ``session``'s connection): how many rows it wrote."""
        count: int = self._execute(session, params).rowcount
        return count

    def _execute(self, session: Session, params: dict[str, Any]) -> Any:
        conn = session.connection()
        raw = conn.connection.driver_connection
        dbapi_error = conn.dialect.loaded_dbapi.Error
        try:
            return raw.execute(self.sql, params, prepare=True)  # type: ignore[union-attr]
        except dbapi_error as err:
            lost = conn.dialect.is_disconnect(err, raw, None)
            if lost:
                conn.invalidate(err)
            raise DBAPIError.instance(self.sql, params, err, dbapi_error, connection_invalidated=lost) from err
