"""Seed the base registries at city scale into a fresh PostgreSQL database.

``onecity seed --scale 1`` writes Shanghai's 24.87 million residents, 2.24 million legal
persons, 12 million city components, their e-certificates and the gazetteer derived from their
addresses. Figures: rows per second of each registry, total time and its phases (geography,
loading, rebuilding indexes and checking constraints, the gazetteer), CPU seconds of this
process and its children (the machine is shared: wall time is inflated by the neighbours, CPU
time much less), peak memory (max RSS of this process and of its children, and the largest
PostgreSQL backend seen) and the load average before and after. Goal (issue 13): under 5
minutes and under 4 GB.

Baseline: plain ``COPY`` of the same, already-formatted rows into unindexed copies of the
tables, in the same database and run: up to ``--baseline-rows`` rows of each big registry
(persons, certificates, legal persons, components) are copied and timed, and their rates give
the time raw COPY would take for every row the seed wrote (``raw_copy_s``). The ratio
``vs_raw_copy`` is that time over the seed's own total: how close the whole seed comes to the
server's bare ingest on this (shared, noisy) machine.
"""

from __future__ import annotations

import io
import os
import resource
import threading
import time
from typing import Any

from bench._common import emit, log, parser, postgres_url, rate, ratio

BIG = ("persons", "certificates", "legal_persons", "components")


def _peak_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"self_mb": round(own / 1024, 1), "children_mb": round(children / 1024, 1)}


def _cpu_s() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"self": own.ru_utime + own.ru_stime, "children": kids.ru_utime + kids.ru_stime}


class _BackendWatch:
    """The largest resident set of the seed's PostgreSQL backends (the server's share of the memory).

    Reads /proc every few seconds when the server runs on this machine; reports nothing otherwise.
    """

    def __init__(self, url: str) -> None:
        self.url, self.peak_kb, self._stop = url, 0, threading.Event()
        self.cpu_s: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _BackendWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psycopg

        name = self.url.rsplit("/", 1)[1]
        tick = os.sysconf("SC_CLK_TCK")
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                while not self._stop.wait(2.0):
                    pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name])]
                    for pid in pids:
                        try:
                            with open(f"/proc/{pid}/status") as fh:
                                rss = next((int(x.split()[1]) for x in fh if x.startswith("VmRSS:")), 0)
                            with open(f"/proc/{pid}/stat") as fh:
                                fields = fh.read().rsplit(")", 1)[1].split()
                            self.cpu_s[pid] = (int(fields[11]) + int(fields[12])) / tick
                        except (OSError, StopIteration, IndexError, ValueError):
                            continue
                        self.peak_kb = max(self.peak_kb, rss)
        except Exception as err:  # a remote server, or it went away: the figure is simply absent
            log(f"not watching the PostgreSQL backends: {err}")


def _baseline(url: str, rows: dict[str, int], sample: int) -> dict[str, float]:
    """COPY rows per second of each big table: its first ``sample`` rows into an unindexed copy."""
    import psycopg

    out: dict[str, float] = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for table in BIG:
            n = min(sample, rows.get(table, 0))
            if not n:
                continue
            buf = io.BytesIO()
            with cur.copy(f"COPY (SELECT * FROM {table} ORDER BY id LIMIT {n}) TO STDOUT") as copy:
                for block in copy:
                    buf.write(block)
            cur.execute(f"CREATE TABLE bench_copy_{table} (LIKE {table})")
            conn.commit()
            t0 = time.perf_counter()
            with cur.copy(f"COPY bench_copy_{table} FROM STDIN") as copy:
                copy.write(buf.getvalue())
            conn.commit()
            out[table] = rate(n, time.perf_counter() - t0)
            cur.execute(f"DROP TABLE bench_copy_{table}")
            conn.commit()
    return out


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, help="scale factor (default 1, or 0.01 with --quick)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--baseline-rows", type=int, default=1_000_000, help="rows of each big table COPY is timed on")
    args = p.parse_args()
    scale = args.scale if args.scale is not None else (0.01 if args.quick else 1.0)

    from onecity.core import migrate
    from onecity.core.db import Database
    from onecity.core.identity.principal import system_principal
    from onecity.synth.registries.seed import seed

    load_before = os.getloadavg()
    with postgres_url("seed") as url:
        db = Database(url)
        migrate.upgrade(db)
        log(f"seeding scale {scale} (seed {args.seed}) into {url.rsplit('/', 1)[1]}, load average {load_before}")
        cpu0 = _cpu_s()
        t0 = time.perf_counter()
        with _BackendWatch(url) as watch:
            report = seed(db, scale, args.seed, system_principal("bench"))
        total = time.perf_counter() - t0
        cpu1 = _cpu_s()
        load_after = os.getloadavg()
        db.dispose()
        rows_by_table = {name: t.rows for name, t in report.tables.items()}
        base = _baseline(url, rows_by_table, args.baseline_rows)
    rows = sum(rows_by_table.values())
    per_s = rate(rows, report.total_seconds)
    # raw COPY of every row the seed wrote, at the rates measured on samples of the same rows
    raw_copy_s = sum(n / base[t] for t, n in rows_by_table.items() if t in base and base[t] > 0)
    copied = sum(n for t, n in rows_by_table.items() if t in base)
    loading_s = sum(t.seconds for t in report.tables.values())
    figures: dict[str, Any] = {
        "total_s": round(total, 1),
        "geography_s": round(report.geography_seconds, 1),
        "loading_s": round(loading_s, 1),
        "constraints_s": round(report.constraints_seconds, 1),
        "gazetteer_s": round(report.gazetteer_seconds, 1),
        "cpu_s": {k: round(cpu1[k] - cpu0[k], 1) for k in cpu0},
        "postgres_backends_cpu_s": round(sum(watch.cpu_s.values()), 1) if watch.cpu_s else None,
        "rows": rows,
        "rows_per_s": per_s,
        "tables": {name: {"rows": t.rows, "rows_per_s": rate(t.rows, t.seconds)} for name, t in report.tables.items()},
        "peak_rss": {**_peak_mb(), "postgres_backend_mb": round(watch.peak_kb / 1024, 1) if watch.peak_kb else None},
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]},
    }
    emit(
        "seed_scale",
        {"scale": scale, "seed": args.seed, "backend": "postgresql"},
        figures,
        baseline={"copy_rows_per_s": base, "raw_copy_s": round(raw_copy_s, 1), "raw_copy_rows": copied},
        ratio={"vs_raw_copy": ratio(raw_copy_s, total), "loading_vs_raw_copy": ratio(raw_copy_s, loading_s)},
    )


if __name__ == "__main__":
    main()
