"""Seed the base registries at city scale into a fresh PostgreSQL database.

``onecity seed --scale 1`` writes Shanghai's 24.87 million residents, 2.24 million legal
persons, 12 million city components and their e-certificates. Figures: rows per second of
each registry, total time, the time spent rebuilding indexes and checking constraints at
the end, and peak memory (max RSS of this process and its children). Goal: under 15 minutes
and under 4 GB on the reference machine (2 cores).

Baseline: plain ``COPY`` of already-formatted person rows into an unindexed table in the same
database and run, so the ratio says how close the generator comes to the server's own
ingest rate on this (shared, noisy) machine.
"""

from __future__ import annotations

import io
import resource
import time

from bench._common import emit, log, parser, postgres_url, rate, ratio


def _peak_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(kb / 1024, 1)


def _baseline(url: str, rows: int) -> float:
    """Rows per second of COPY of the first ``rows`` persons into an unindexed copy of the table."""
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        buf = io.BytesIO()
        with cur.copy(f"COPY (SELECT * FROM persons ORDER BY id LIMIT {rows}) TO STDOUT") as copy:
            for block in copy:
                buf.write(block)
        cur.execute("CREATE TABLE bench_copy (LIKE persons)")
        t0 = time.perf_counter()
        with cur.copy("COPY bench_copy FROM STDIN") as copy:
            copy.write(buf.getvalue())
        conn.commit()
        return rate(rows, time.perf_counter() - t0)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, help="scale factor (default 1, or 0.01 with --quick)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    scale = args.scale if args.scale is not None else (0.01 if args.quick else 1.0)

    from onecity.core import migrate
    from onecity.core.db import Database
    from onecity.core.identity.principal import system_principal
    from onecity.synth.registries.seed import seed

    with postgres_url("seed") as url:
        db = Database(url)
        migrate.upgrade(db)
        log(f"seeding scale {scale} (seed {args.seed}) into {url.rsplit('/', 1)[1]}")
        t0 = time.perf_counter()
        report = seed(db, scale, args.seed, system_principal("bench"))
        total = time.perf_counter() - t0
        db.dispose()
        rows = sum(t.rows for t in report.tables.values())
        base = _baseline(url, min(1_000_000, report.tables["persons"].rows))
    per_s = rate(rows, report.total_seconds)
    emit(
        "seed_scale",
        {"scale": scale, "seed": args.seed, "backend": "postgresql"},
        {
            "total_s": round(total, 1),
            "constraints_s": round(report.constraints_seconds, 1),
            "rows": rows,
            "rows_per_s": per_s,
            "tables": {
                name: {"rows": t.rows, "rows_per_s": rate(t.rows, t.seconds)} for name, t in report.tables.items()
            },
            "peak_rss_mb": _peak_mb(),
        },
        baseline={"copy_rows_per_s": base},
        ratio={"rows_per_s": ratio(per_s, base)},
    )


if __name__ == "__main__":
    main()
