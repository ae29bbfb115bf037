"""``onecity seed``: generate the base registries into a database, streaming.

PostgreSQL: one transaction for the whole seed, rows sent with COPY, secondary indexes and
constraints rebuilt at the end (which also checks uniqueness and every reference); a failure
anywhere leaves the database as it was. SQLite: one transaction per chunk (SQLite has one
writer; holding it for minutes would block the running server), foreign keys checked as
rows go in.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy import Table, func, select

from onecity.core import audit
from onecity.core.db import Database, table_of
from onecity.core.divisions import Division, DivisionLevel
from onecity.core.errors import Conflict
from onecity.core.identity.principal import Principal
from onecity.hub.registries.models import (
    Certificate,
    CertificateType,
    Component,
    Indicator,
    LegalPerson,
    Person,
    PersonFacts,
    Premises,
    Vehicle,
)
from onecity.synth.registries.bulk import BulkWriter, Prepared, fast_load
from onecity.synth.registries.generate import CityGenerator
from onecity.synth.registries.geo import read_geography

REGISTRY_TABLES: list[Table] = [
    table_of(m)
    for m in (
        CertificateType,
        Person,
        LegalPerson,
        Component,
        Certificate,
        Indicator,
        PersonFacts,
        Vehicle,
        Premises,
    )
]


@dataclass
class TableStat:
    rows: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class SeedReport:
    scale: float
    seed: int
    tables: dict[str, TableStat] = field(default_factory=dict)
    constraints_seconds: float = 0.0
    geography_seconds: float = 0.0
    gazetteer_seconds: float = 0.0
    total_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "seed": self.seed,
            "total_seconds": round(self.total_seconds, 2),
            "constraints_seconds": round(self.constraints_seconds, 2),
            "geography_seconds": round(self.geography_seconds, 2),
            "gazetteer_seconds": round(self.gazetteer_seconds, 2),
            "tables": {
                k: {"rows": v.rows, "seconds": round(v.seconds, 2), "rows_per_second": round(v.rate)}
                for k, v in self.tables.items()
            },
        }


def _ensure_geography(db: Database) -> bool:
    """Load the generated geography unless the city already has communities of its own.

    A city that loaded real outlines keeps them; an empty one gets the generated geography
    (the same at every scale). Returns whether anything was loaded.
    """
    with db.transaction() as session:
        has_units = session.scalar(
            select(func.count()).select_from(Division).where(Division.level == DivisionLevel.COMMUNITY)
        )
        if has_units:
            return False
        from onecity.synth.geography.load import load_geography

        load_geography(session)
        return True


def seed(
    db: Database,
    scale: float,
    seed_value: int,
    principal: Principal,
    *,
    out: TextIO | None = sys.stderr,
    chunk: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> SeedReport:
    """Generate the registries at ``scale`` × Shanghai from ``seed_value`` into empty registry tables.

    ``progress(done, total, table)`` follows the people, firms and city components written (their
    numbers are known in advance; certificates and indicators come with them): a command's bar.
    """
    started = time.perf_counter()
    loaded = _ensure_geography(db)
    geography_seconds = time.perf_counter() - started
    if loaded and out is not None:
        print(f"seed: geography loaded ({geography_seconds:.1f}s)", file=out, flush=True)
    with db.sessions() as session:
        for model in (
            Person,
            LegalPerson,
            Component,
            Certificate,
            CertificateType,
            Indicator,
            PersonFacts,
            Vehicle,
            Premises,
        ):
            if session.scalar(select(func.count()).select_from(model)):
                raise Conflict(
                    f"the {model.__tablename__} registry already holds data: seed into a fresh database "
                    "(or load more rows with `onecity registry load`)"
                )
        geo = read_geography(session)
    gen = CityGenerator(geo, scale, seed_value, **({"chunk": chunk} if chunk else {}))
    report = SeedReport(scale, seed_value, geography_seconds=geography_seconds)
    counted = (Person.__tablename__, LegalPerson.__tablename__, Component.__tablename__)
    expected = gen.n_persons + gen.n_legal + gen.n_components
    writer = BulkWriter(db.engine)
    # Generation and formatting run in a producer thread while this thread waits for the
    # database: the waits release the GIL, so Python and PostgreSQL work at the same time.
    # The queue is short, so at most a few chunks are in memory.
    chunks: queue.Queue[Prepared | BaseException | None] = queue.Queue(maxsize=3)
    stop = threading.Event()

    def produce() -> None:
        try:
            for table, columns in gen.chunks():
                if stop.is_set():
                    return
                chunks.put(writer.prepare(table, columns, escape=False))
            chunks.put(None)
        except BaseException as err:  # handed to the consumer, which re-raises it
            chunks.put(err)

    producer = threading.Thread(target=produce, name="seed-generator", daemon=True)
    last_print = 0.0
    t_mark = time.perf_counter()
    try:
        with fast_load(writer, REGISTRY_TABLES):
            producer.start()
            while (item := chunks.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                rows = writer.send(item)
                if writer.dialect == "sqlite":
                    writer.commit()
                now = time.perf_counter()
                stat = report.tables.setdefault(item.table.name, TableStat())
                stat.rows += rows
                stat.seconds += now - t_mark
                t_mark = now
                if progress is not None:
                    progress(
                        sum(report.tables[t].rows for t in counted if t in report.tables), expected, item.table.name
                    )
                if out is not None and now - last_print > 5:
                    last_print = now
                    _print_progress(out, report, started)
            t1 = time.perf_counter()
            if out is not None and writer.dialect == "postgresql":
                print("seed: rebuilding indexes and checking constraints…", file=out, flush=True)
        report.constraints_seconds = time.perf_counter() - t1
        writer.commit()
    except BaseException:
        stop.set()
        while producer.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.1)
        writer.rollback()
        raise
    finally:
        writer.close()
    with db.transaction() as session:
        audit.record(
            session,
            principal,
            "hub.registry.seeded",
            object_type="registry",
            object_id="all",
            detail={"scale": scale, "seed": seed_value, "rows": {k: v.rows for k, v in report.tables.items()}},
        )
    t_gazetteer = time.perf_counter()
    with db.transaction() as session:
        from onecity.hub.registries.addresses import build_gazetteer

        built = build_gazetteer(session, principal)
    report.gazetteer_seconds = time.perf_counter() - t_gazetteer
    if out is not None:
        print(
            f"seed: gazetteer built: {built.divisions} divisions, {built.roads} roads, {built.addresses} addresses "
            f"({time.perf_counter() - t_gazetteer:.1f}s)",
            file=out,
            flush=True,
        )
    report.total_seconds = time.perf_counter() - started
    if out is not None:
        _print_progress(out, report, started, final=True)
    return report


def _print_progress(out: TextIO, report: SeedReport, started: float, final: bool = False) -> None:
    parts = [f"{name} {s.rows:,} ({s.rate:,.0f}/s)" for name, s in report.tables.items()]
    head = "seed done" if final else "seed"
    print(f"{head} {time.perf_counter() - started:6.1f}s: " + ", ".join(parts), file=out, flush=True)
