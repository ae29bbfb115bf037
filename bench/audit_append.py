"""How fast the audit log grows, and what it costs over a plain insert and over the server's own ceiling.

Every state change and every read of personal data appends an audit entry in the same
transaction, so the append rate caps the write rate of the whole platform. Since group commit
a writer only inserts its entry; one sealer (here a thread every 50 ms, as the platform's
``audit-sealer`` task every 500 ms) chains the committed entries in batches. Before, every
writer moved the single head row, whose lock serialised all of them (~185 entries/s on
PostgreSQL). The baseline inserts the same columns into a table with the same indexes but no
chain, through the same ORM, on the same database in the same run, so the ratio is the price
of the audit log (the insert's extra index, the sealer's work) and not the machine's mood.

Modes: one entry per transaction (the usual case: one change, one entry), 100 per
transaction (bulk imports), and 4 and 16 threads each committing one entry at a time. Then, on
PostgreSQL, the writers of a deployment: several *processes* (API workers) with several threads
each, every thread committing one entry at a time (``procs4x4``: 16 writers, ``procs4x8``: 32),
against two baselines in the same run: the same number of writers inserting the same row with
psycopg alone (a prepared ``INSERT``, autocommit: the least a Python writer can do), and
``pgbench`` with as many clients (the server alone, no Python; skipped when it is not installed),
also at 1, 4 and 16 clients for the thread modes. Each process mode reports the CPU it cost per
entry, in the writers' processes and in the server's backends, and the sealer's backlog when the
writers stop. Then how fast the sealer chains a backlog, and ``audit.verify`` walks the whole
chain (which must hold every entry: nothing left unsealed).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from glob import glob
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import JSON, Integer, String, text
from sqlalchemy.engine import make_url
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

#: The baseline's row straight through psycopg: the same columns and values as :func:`plain`.
PLAIN_SQL = (
    "INSERT INTO bench_audit_plain (at, actor, actor_name, action, object_type, object_id, subject, purpose,"
    " outcome, division_code, detail, prev_hash, hash) VALUES (%(at)s, %(actor)s, %(actor_name)s, %(action)s,"
    " %(object_type)s, %(object_id)s, %(subject)s, %(purpose)s, %(outcome)s, %(division_code)s, %(detail)s::json,"
    " %(hash)s, %(hash)s)"
)
#: The same row for pgbench (no ``:`` inside a literal: pgbench would read it as a variable).
PGBENCH_SCRIPT = """\\set i random(1, 1000000000)
INSERT INTO bench_audit_plain (at, actor, actor_name, action, object_type, object_id, subject, purpose, outcome,
 division_code, detail, prev_hash, hash) VALUES (now(), 'system/bench', 'bench', 'hub.person.read', 'person',
 'p-' || CAST(:i AS text), 'person/' || CAST(:i AS text), 'bench', 'success', '310104003000',
 json_build_object('n', CAST(:i AS bigint)), repeat('f', 64), repeat('f', 64));
"""


def psycopg_row(i: int) -> dict[str, Any]:
    """:func:`plain`'s row as psycopg's parameters."""
    return {
        "at": clock.now(),
        "actor": PRINCIPAL.ref,
        "actor_name": PRINCIPAL.name,
        "action": "hub.person.read",
        "object_type": "person",
        "object_id": f"p-{i}",
        "subject": f"person:{i}",
        "purpose": "bench",
        "outcome": "success",
        "division_code": "310104003000",
        "detail": json.dumps({"n": i}),
        "hash": FAKE_HASH,
    }


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


#: Entries each writer commits before the timed run (its connection opened, its statement prepared).
WARM_UP = 5


def _writer_process(
    url: str, kind: str, threads: int, per_thread: int, first: int, ready: Any, go: Any, stop: Any, results: Any
) -> None:
    """One API worker's process: ``threads`` writers, each committing ``per_thread`` entries one at a
    time, through the platform (``chain``: ``db.transaction`` and ``audit.record``) or through psycopg
    alone (``psycopg``: the baseline's row, a prepared ``INSERT``, autocommit). Reports its CPU time, and keeps its
    connections until ``stop`` (the parent reads the server's CPU time per backend first)."""
    db = Database(url, pool_size=threads) if kind == "chain" else None
    warm = threading.Barrier(threads + 1)
    start = threading.Event()
    errors: list[str] = []
    kept: list[psycopg.Connection[Any]] = []

    def work(t: int) -> None:
        base = first + t * (per_thread + WARM_UP)
        write: Callable[[int], object]
        try:
            if db is not None:

                def write(i: int) -> None:
                    with db.transaction() as session:
                        chained(session, i)

            else:
                conn = psycopg.connect(url, autocommit=True)
                kept.append(conn)  # open until ``stop``

                def write(i: int) -> object:
                    return conn.execute(PLAIN_SQL, psycopg_row(i), prepare=True)

            for i in range(WARM_UP):
                write(base + i)
        except BaseException as err:  # noqa: BLE001 - reported to the parent below
            errors.append(repr(err))
            warm.abort()
            return
        warm.wait()
        start.wait()
        try:
            for i in range(WARM_UP, WARM_UP + per_thread):
                write(base + i)
        except BaseException as err:  # noqa: BLE001 - reported to the parent below
            errors.append(repr(err))

    workers = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(threads)]
    for w in workers:
        w.start()
    try:
        warm.wait(timeout=120)
    except threading.BrokenBarrierError:
        ready.abort()
        results.put((0, 0.0, errors or ["a writer did not warm up"]))
        return
    ready.wait(timeout=120)
    cpu0 = time.process_time()
    go.wait(timeout=120)
    start.set()
    for w in workers:
        w.join()
    results.put((per_thread * threads, time.process_time() - cpu0, errors))
    stop.wait(timeout=120)
    for conn in kept:
        conn.close()
    if db is not None:
        db.dispose()


def _backend_cpu(db: Database) -> dict[int, float]:
    """CPU seconds used so far by each backend serving the bench database (the scheduler's own
    nanoseconds; empty when the server runs on another machine: its ``/proc`` is not ours)."""
    with db.engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        ).scalars()
        out: dict[int, float] = {}
        for pid in pids:
            try:
                out[pid] = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
            except (OSError, ValueError, IndexError):
                continue
    return out


def run_processes(db: Database, kind: str, procs: int, threads: int, count: int, sealer: bool) -> dict[str, Any]:
    """``procs`` processes of ``threads`` writers each, ``count`` entries in all, one per transaction:
    entries a second, and the CPU they cost per entry in the writers, the server and the sealer."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter, as a separately started worker
    ready, go, stop = ctx.Barrier(procs + 1), ctx.Barrier(procs + 1), ctx.Barrier(procs + 1)
    results = ctx.Queue()
    per_thread = count // (procs * threads)
    url = db.url.replace("postgresql+psycopg://", "postgresql://")
    first = (time.time_ns() // 1000) % 10**9 * 1000  # the entries' numbers differ between runs
    workers = [
        ctx.Process(
            target=_writer_process,
            args=(
                url,
                kind,
                threads,
                per_thread,
                first + p * threads * (per_thread + WARM_UP),
                ready,
                go,
                stop,
                results,
            ),
            daemon=True,
        )
        for p in range(procs)
    ]
    for w in workers:
        w.start()
    try:
        with Sealer(db) if sealer else contextlib.nullcontext():
            ready.wait(timeout=180)
            server0, own0 = _backend_cpu(db), time.process_time()
            go.wait(timeout=60)
            with Stopwatch() as sw:
                done = [results.get(timeout=600) for _ in workers]
            server1, own1 = _backend_cpu(db), time.process_time()
            stop.wait(timeout=60)
            backlog = None
            if sealer:
                with db.sessions() as session:
                    backlog = audit.unsealed(session)
    finally:
        for w in workers:
            w.join(timeout=30)
            if w.is_alive():
                w.terminate()
    errors = [e for _, _, errs in done for e in errs]
    if errors:
        raise RuntimeError(f"{len(errors)} writers failed, the first: {errors[0]}")
    entries = sum(n for n, _, _ in done)
    per_entry = 1e6 / entries
    out: dict[str, Any] = {
        "entries_per_s": rate(entries, sw.seconds),
        "cpu_us_per_entry": {
            "writers": round(sum(c for _, c, _ in done) * per_entry, 1),
            "server": round(sum(server1[p] - server0[p] for p in server0 if p in server1) * per_entry, 1)
            if server0
            else None,
        },
    }
    if sealer:
        out["cpu_us_per_entry"]["sealer"] = round((own1 - own0) * per_entry, 1)
        out["unsealed_when_writers_stop"] = backlog
    return out


def pgbench_tps(db: Database, clients: int, seconds: int) -> float | None:
    """The server's own rate for the baseline's row, one ``INSERT`` a transaction, ``clients`` at once
    (``pgbench``: no Python at all); None when pgbench is not installed."""
    exe = shutil.which("pgbench") or next(iter(sorted(glob("/usr/lib/postgresql/*/bin/pgbench"), reverse=True)), None)
    if exe is None:
        return None
    u = make_url(db.url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="onecity-bench-audit-") as script:
        script.write(PGBENCH_SCRIPT)
        script.flush()
        cmd = [exe, "-n", "-M", "prepared", "-f", script.name, "-c", str(clients), "-j", str(min(clients, 2))]
        cmd += ["-T", str(seconds), "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432)]
        cmd += ["-U", u.username or "postgres", u.database or "postgres"]
        env = {**os.environ, **({"PGPASSWORD": u.password} if u.password else {})}
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, env=env, check=False)
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"pgbench failed: {done.stderr[-500:]}")
    return round(float(found.group(1)), 1)


def seal_rate(db: Database, count: int) -> float:
    """Entries a second the sealer chains: ``count`` entries written unsealed, then sealed at once."""
    run_serial(db, chained, count, 100)
    audit.seal(db)  # whatever the writers' sealer left
    run_serial(db, chained, count, 100)
    with Stopwatch() as sw:
        n = audit.seal(db)
    return rate(n, sw.seconds)


def bench_backend(backend: str, sizes: dict[str, Any], rounds: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Figures and baseline figures for one backend; each mode alternates chain and baseline per round."""
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
                    figures["server"] = {k: conn.execute(text(f"SHOW {k}")).scalar_one() for k in SERVER_SETTINGS}
            modes: dict[str, tuple[Callable[[Writer], float], int]] = {
                "tx1": (lambda w: run_serial(db, w, sizes["tx1"], 1), 1),
                "tx100": (lambda w: run_serial(db, w, sizes["tx100"], 100), 0),
                f"threads{sizes['threads']}_tx1": (
                    lambda w: run_threads(db, w, sizes["concurrent"], sizes["threads"]),
                    sizes["threads"],
                ),
                f"threads{sizes['many']}_tx1": (
                    lambda w: run_threads(db, w, sizes["concurrent"], sizes["many"]),
                    sizes["many"],
                ),
            }
            pg = backend == "postgresql"
            for mode, (run, clients) in modes.items():
                chain_rates, plain_rates, server_rates = [], [], []
                for r in range(rounds):
                    with Sealer(db):  # as in a deployment: one sealer beside the writers
                        chain_rates.append(run(chained))
                    plain_rates.append(run(plain))
                    tps = pgbench_tps(db, clients, sizes["pgbench_s"]) if pg and clients else None
                    if tps is not None:
                        server_rates.append(tps)
                    log(
                        f"  {backend} {mode} round {r + 1}/{rounds}: chain {chain_rates[-1]:,.0f}/s, "
                        f"plain {plain_rates[-1]:,.0f}/s"
                        + (f", pgbench {clients} clients {tps:,.0f}/s" if tps is not None else "")
                        + f" (load {os.getloadavg()[0]:.1f})"
                    )
                figures[f"{mode}_entries_per_s"] = round(statistics.median(chain_rates), 1)
                baseline[f"{mode}_entries_per_s"] = round(statistics.median(plain_rates), 1)
                if server_rates:
                    baseline[f"pgbench_{mode}_entries_per_s"] = round(statistics.median(server_rates), 1)
            if pg:
                for procs, threads in sizes["processes"]:
                    mode = f"procs{procs}x{threads}_tx1"
                    count = sizes["per_writer"] * procs * threads
                    chain_runs, driver_runs, server_rates = [], [], []
                    for r in range(rounds):
                        chain_runs.append(run_processes(db, "chain", procs, threads, count, sealer=True))
                        driver_runs.append(run_processes(db, "psycopg", procs, threads, count, sealer=False))
                        tps = pgbench_tps(db, procs * threads, sizes["pgbench_s"])
                        if tps is not None:
                            server_rates.append(tps)
                        chain_, driver = chain_runs[-1], driver_runs[-1]
                        log(
                            f"  {backend} {mode} round {r + 1}/{rounds}: chain {chain_['entries_per_s']:,.0f}/s "
                            f"(CPU µs/entry {chain_['cpu_us_per_entry']}, "
                            f"unsealed at stop {chain_['unsealed_when_writers_stop']}), "
                            f"psycopg {driver['entries_per_s']:,.0f}/s "
                            f"(CPU µs/entry {driver['cpu_us_per_entry']})"
                            + (f", pgbench {procs * threads} clients {tps:,.0f}/s" if tps is not None else "")
                            + f" (load {os.getloadavg()[0]:.1f})"
                        )
                    figures[mode] = _median_run(chain_runs)
                    baseline[f"psycopg_{mode}"] = _median_run(driver_runs)
                    if server_rates:
                        baseline[f"pgbench_{mode}_entries_per_s"] = round(statistics.median(server_rates), 1)
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


#: What decides a commit's cost on PostgreSQL, printed with the figures.
SERVER_SETTINGS = (
    "server_version",
    "synchronous_commit",
    "fsync",
    "wal_sync_method",
    "commit_delay",
    "commit_siblings",
)


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate (its CPU figures with it: they belong to one run)."""
    return sorted(runs, key=lambda r: float(r["entries_per_s"]))[len(runs) // 2]


def ratios_of(figures: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Chain ÷ plain ORM table per mode; the process modes ÷ psycopg alone and ÷ pgbench; the
    thread modes ÷ pgbench with as many clients (the server's ceiling for that many writers)."""
    out: dict[str, Any] = {}
    for key, value in figures.items():
        if isinstance(value, dict) and "entries_per_s" in value:
            rate_ = value["entries_per_s"]
        elif isinstance(value, float | int) and key.endswith("_entries_per_s"):
            rate_ = value
        else:
            continue
        if key.endswith("_entries_per_s") and key in baseline:
            out[key] = ratio(rate_, baseline[key])
        if f"psycopg_{key}" in baseline:
            out[f"{key}_vs_psycopg"] = ratio(rate_, baseline[f"psycopg_{key}"]["entries_per_s"])
        mode = key.removesuffix("_entries_per_s")
        if f"pgbench_{mode}_entries_per_s" in baseline:
            out[f"{mode}_vs_pgbench"] = ratio(rate_, baseline[f"pgbench_{mode}_entries_per_s"])
    return out


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--backends", type=csv_choice(BACKENDS), default=list(BACKENDS))
    p.add_argument("--rounds", type=int, default=None, help="repeat each mode; the median is reported")
    args = p.parse_args()
    if args.quick:
        sizes: dict[str, Any] = {"tx1": 200, "tx100": 1000, "concurrent": 200, "threads": 4, "many": 16}
        sizes |= {"processes": [(2, 4)], "per_writer": 50, "pgbench_s": 2}
    else:
        sizes = {"tx1": 2000, "tx100": 10000, "concurrent": 2000, "threads": 4, "many": 16}
        sizes |= {"processes": [(4, 4), (4, 8)], "per_writer": 500, "pgbench_s": 5}
    rounds = args.rounds or (1 if args.quick else 3)
    figures: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    for backend in args.backends:
        log(f"{NAME}: {backend}")
        f, b = bench_backend(backend, sizes, rounds)
        figures[backend], baseline[backend] = f, b
        ratios[backend] = ratios_of(f, b)
    emit(NAME, {"backends": args.backends, "rounds": rounds, **sizes}, figures, baseline, ratios)


if __name__ == "__main__":
    main()
