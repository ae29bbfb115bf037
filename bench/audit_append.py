"""How fast the audit log grows, and what it costs over a plain insert.

Every state change and every read of personal data appends an audit entry in the same
transaction, so the append rate caps the write rate of the whole platform. Since group commit
a writer only inserts its entry; one sealer (here a thread every 50 ms, as the platform's
``audit-sealer`` task every 500 ms) chains the committed entries in batches. Before, every
writer moved the single head row, whose lock serialised all of them (~185 entries/s on
PostgreSQL). The baseline inserts the same columns into a table with the same indexes but no
chain, through the same ORM, on the same database in the same run, so the ratio is the price
of the audit log (the insert's extra index, the sealer's work) and not the machine's mood.

Modes: one entry per transaction (the usual case: one change, one entry), 100 per
transaction (bulk imports), and 4 and 16 threads each committing one entry at a time
(concurrent API workers). Then how fast the sealer chains a backlog, and ``audit.verify``
walks the whole chain (which must hold every entry: nothing left unsealed).
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bench._common import Stopwatch, csv_choice, database_url, emit, log, parser, rate, ratio
from onecity.core import audit, clock, migrate
from onecity.core.db import Database, UTCDateTime
from onecity.core.identity.principal import system_principal

NAME = "audit_append"
BACKENDS = ("sqlite", "postgresql")
PRINCIPAL = system_principal("bench")
FAKE_HASH = "f" * 64


class _BenchBase(DeclarativeBase):
    """Kept off the platform's metadata so the migration-drift check never sees this table."""

    type_annotation_map = {datetime: UTCDateTime()}


class PlainAuditRow(_BenchBase):
    """The baseline: the audit log's columns and indexes, an autoincrement key, no chain."""

    __tablename__ = "bench_audit_plain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    actor_name: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(120), index=True)
    subject: Mapped[str | None] = mapped_column(String(120), index=True)
    purpose: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    division_code: Mapped[str | None] = mapped_column(String(12), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def chained(session: Session, i: int) -> None:
    """One entry through the public API, shaped like a real personal-data read."""
    audit.record(
        session,
        PRINCIPAL,
        "hub.person.read",
        object_type="person",
        object_id=f"p-{i}",
        subject=f"person:{i}",
        purpose="bench",
        division_code="310104003000",
        detail={"n": i},
    )


def plain(session: Session, i: int) -> None:
    """The same content as :func:`chained`, without the head row or the hash."""
    session.add(
        PlainAuditRow(
            at=clock.now(),
            actor=PRINCIPAL.ref,
            actor_name=PRINCIPAL.name,
            action="hub.person.read",
            object_type="person",
            object_id=f"p-{i}",
            subject=f"person:{i}",
            purpose="bench",
            outcome="success",
            division_code="310104003000",
            detail={"n": i},
            prev_hash=FAKE_HASH,
            hash=FAKE_HASH,
        )
    )


Writer = Callable[[Session, int], None]


def run_serial(db: Database, write: Writer, count: int, per_tx: int) -> float:
    """Entries per second, ``per_tx`` entries to a transaction, one writer."""
    with Stopwatch() as sw:
        for start in range(0, count, per_tx):
            with db.transaction() as session:
                for i in range(start, min(count, start + per_tx)):
                    write(session, i)
    return rate(count, sw.seconds)


def run_threads(db: Database, write: Writer, count: int, threads: int) -> float:
    """Entries per second with ``threads`` writers, each committing one entry at a time."""
    per_thread = count // threads
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with db.transaction() as session:
                    write(session, t * per_thread + i)
        except BaseException as err:  # noqa: BLE001 - re-raised in the main thread below
            errors.append(err)

    workers = [threading.Thread(target=work, args=(t,), name=f"bench-writer-{t}") for t in range(threads)]
    for w in workers:
        w.start()
    with Stopwatch() as sw:
        barrier.wait()
        for w in workers:
            w.join()
    if errors:
        raise errors[0]
    return rate(per_thread * threads, sw.seconds)


class Sealer:
    """The platform's sealer task, as a thread beside the writers (every 50 ms here, 500 ms in a server)."""

    def __init__(self, db: Database) -> None:
        self.db, self.stop, self.sealed = db, threading.Event(), 0
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="bench-sealer", daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop.wait(0.05):
                self.sealed += audit.seal(self.db)
        except BaseException as err:  # noqa: BLE001 - re-raised by __exit__
            self.errors.append(err)

    def __enter__(self) -> Sealer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        if self.errors:
            raise self.errors[0]


def seal_rate(db: Database, count: int) -> float:
    """Entries a second the sealer chains: ``count`` entries written unsealed, then sealed at once."""
    run_serial(db, chained, count, 100)
    audit.seal(db)  # whatever the writers' sealer left
    run_serial(db, chained, count, 100)
    with Stopwatch() as sw:
        n = audit.seal(db)
    return rate(n, sw.seconds)


def bench_backend(backend: str, sizes: dict[str, int], rounds: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Figures and baseline figures for one backend; each mode alternates chain and plain per round."""
    figures: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    with database_url(backend, "audit") as url:
        pool = sizes["many"] + 2  # every writer a connection, and the sealer one
        db = Database(url, pool_size=pool)
        try:
            migrate.upgrade(db)
            _BenchBase.metadata.create_all(db.engine)
            if backend == "postgresql":
                with db.engine.connect() as conn:
                    figures["server"] = {
                        k: conn.execute(text(f"SHOW {k}")).scalar_one()
                        for k in ("server_version", "synchronous_commit", "fsync")
                    }
            modes: dict[str, Callable[[Writer], float]] = {
                "tx1": lambda w: run_serial(db, w, sizes["tx1"], 1),
                "tx100": lambda w: run_serial(db, w, sizes["tx100"], 100),
                f"threads{sizes['threads']}_tx1": lambda w: run_threads(db, w, sizes["concurrent"], sizes["threads"]),
            }
            modes[f"threads{sizes['many']}_tx1"] = lambda w: run_threads(db, w, sizes["concurrent"], sizes["many"])
            for mode, run in modes.items():
                chain_rates, plain_rates = [], []
                for r in range(rounds):
                    with Sealer(db):  # as in a deployment: one sealer beside the writers
                        chain_rates.append(run(chained))
                    plain_rates.append(run(plain))
                    log(
                        f"  {backend} {mode} round {r + 1}/{rounds}: chain {chain_rates[-1]:,.0f}/s, "
                        f"plain {plain_rates[-1]:,.0f}/s"
                    )
                figures[f"{mode}_entries_per_s"] = round(statistics.median(chain_rates), 1)
                baseline[f"{mode}_entries_per_s"] = round(statistics.median(plain_rates), 1)
            figures["seal_entries_per_s"] = round(
                statistics.median(seal_rate(db, sizes["tx100"]) for _ in range(rounds)), 1
            )
            log(f"  {backend} sealing a backlog: {figures['seal_entries_per_s']:,.0f} entries/s")
            with db.sessions() as session, Stopwatch() as sw:
                result = audit.verify(session)
            if not result.ok:
                raise RuntimeError(f"the chain the benchmark wrote does not verify: {result}")
            if result.unsealed:
                raise RuntimeError(f"{result.unsealed} entries were left unsealed")
            figures["verify_entries"] = result.entries
            figures["verify_entries_per_s"] = rate(result.entries, sw.seconds)
            log(f"  {backend} verify: {result.entries:,} entries at {figures['verify_entries_per_s']:,.0f}/s")
        finally:
            db.dispose()
    return figures, baseline


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--backends", type=csv_choice(BACKENDS), default=list(BACKENDS))
    p.add_argument("--rounds", type=int, default=None, help="repeat each mode; the median is reported")
    args = p.parse_args()
    if args.quick:
        sizes = {"tx1": 200, "tx100": 1000, "concurrent": 200, "threads": 4, "many": 16}
    else:
        sizes = {"tx1": 2000, "tx100": 10000, "concurrent": 2000, "threads": 4, "many": 16}
    rounds = args.rounds or (1 if args.quick else 3)
    figures: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    for backend in args.backends:
        log(f"{NAME}: {backend}")
        f, b = bench_backend(backend, sizes, rounds)
        figures[backend], baseline[backend] = f, b
        ratios[backend] = {k: ratio(f[k], b[k]) for k in b}
    emit(NAME, {"backends": args.backends, "rounds": rounds, **sizes}, figures, baseline, ratios)


if __name__ == "__main__":
    main()
