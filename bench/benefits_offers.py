"""Proactive benefits: the whole city's offers brought in line with its tables, policy by policy
in Python (``offers.refresh`` for each of the 22 policies, the old ``refresh_all``) against inside
the database (``offers.refresh_all`` without ids: ``scan_city`` and a few ``INSERT … SELECT``),
on the same seeded city.

The city is seeded at ``--scale`` (1:1000 by default) on ``--backend`` (PostgreSQL by default;
``--db-url``: an already seeded database instead, left as it is). Each path runs in a process
of its own (so that its peak resident memory is its own), in one transaction that is rolled
back when measured: both start from the same offers. ``--offered-on DAY``: the offers of that
day are made (and committed, unless the city has offers already) before the runs: with ``--on``
the same day, the runs find every grant offered (a second run: nothing changes, but the old path
still loads every live offer into Python); with ``--on`` a year later, a year's births, birthdays
and ageing out to offer and withdraw. Without it the city has no offers (the first day: every
grant becomes an offer). Per path: wall time, the database backend's CPU time (the session's, and
all the database's backends': the scan writes from sessions of its own) and peak resident memory
(PostgreSQL, read from ``/proc``), the Python process's peak resident memory and its resident
memory before the run (imports and the connection), offers made and withdrawn (which must agree).
The load average is printed beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import nullcontext
from datetime import date
from typing import Any

from bench._common import csv_choice, database_url, emit, log, parser, ratio
from bench._proc import Backends, cpu_seconds, peak_rss_mb, rss_mb

NAME = "benefits_offers"
PATHS = ("per_policy", "city")


def main() -> None:
    p = parser(__doc__ or NAME)
    p.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    p.add_argument("--scale", type=float, default=0.001)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--on", default="2026-12-05")
    p.add_argument("--db-url", help="an already seeded database instead of seeding (given offers by --offered-on)")
    p.add_argument("--offered-on", help="make (and commit) this day's offers first, unless the city has offers")
    p.add_argument(
        "--paths",
        type=csv_choice(PATHS),
        default=list(PATHS),
        help="which paths to run (per_policy,city; the old one holds every offer in Python: ~1.3 GB at scale 0.01)",
    )
    p.add_argument("--child", choices=PATHS, help=argparse.SUPPRESS)  # one path, measured in a process of its own
    args = p.parse_args()
    if args.child:
        _child(args.db_url, args.child, date.fromisoformat(args.on))
        return
    if args.quick:
        args.backend, args.scale = "sqlite", 0.0001

    from sqlalchemy import func, select

    from onecity.benefits import offers
    from onecity.benefits.models import BenefitOffer
    from onecity.core.commands import cli_principal
    from onecity.core.db import Database
    from onecity.hub.registries import service as _registry  # noqa: F401  (registers the seed's actions)
    from onecity.hub.registries.models import LegalPerson, Person
    from onecity.sim.cli import ensure_city

    given = nullcontext(args.db_url) if args.db_url else None
    with given or database_url(args.backend, NAME) as url:
        db = Database(url)
        args.backend = db.engine.dialect.name
        try:
            log(f"seeding a city at {args.scale:g} × Shanghai on {args.backend} (unless one is there)…")
            ensure_city(db, args.scale, args.seed)
            with db.sessions() as s:
                persons = int(s.scalar(select(func.count()).select_from(Person)) or 0)
                firms = int(s.scalar(select(func.count()).select_from(LegalPerson)) or 0)
                live = int(s.scalar(select(func.count()).select_from(BenefitOffer)) or 0)
            if args.offered_on and not live:
                log(f"making the offers of {args.offered_on} first…")
                with db.transaction() as s:
                    offers.refresh_all(s, cli_principal(), date.fromisoformat(args.offered_on))
            with db.sessions() as s:
                live = int(s.scalar(select(func.count()).select_from(BenefitOffer)) or 0)
        finally:
            db.dispose()
        log(f"{persons:,} persons, {firms:,} firms, {live:,} offers before the runs")
        runs: dict[str, dict[str, Any]] = {}
        for path in args.paths:
            log(f"{path}…")
            out = subprocess.run(
                [sys.executable, "-m", "bench.benefits_offers", "--child", path, "--db-url", url, "--on", args.on],
                check=True,
                capture_output=True,
                text=True,
            )
            runs[path] = json.loads(out.stdout.strip().splitlines()[-1])
            log(f"  {runs[path]}")
    load = os.getloadavg()
    old, new = runs.get("per_policy"), runs.get("city")
    figures = {
        "persons": persons,
        "firms": firms,
        "offers_before": live,
        **{f"{path}_{k}": v for path, run in runs.items() for k, v in run.items()},
        "same_counts": (old["made"], old["withdrawn"]) == (new["made"], new["withdrawn"]) if old and new else None,
        "load_average_1_5_15": [round(x, 2) for x in load],
    }
    ratios = (
        {
            "wall_per_policy_over_city": ratio(old["seconds"], new["seconds"]),
            "python_peak_rss_per_policy_over_city": ratio(old["python_peak_rss_mb"], new["python_peak_rss_mb"]),
        }
        if old and new
        else None
    )
    log(f"\n{NAME}: scale {args.scale:g} on {args.backend}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for k, v in {**figures, **(ratios or {})}.items():
        log(f"  {k:<44} {v}")
    emit(
        NAME,
        {
            "backend": args.backend,
            "scale": args.scale,
            "seed": args.seed,
            "on": args.on,
            "offered_on": args.offered_on,
            "paths": args.paths,
        },
        figures,
        None,
        ratios,
    )


def _child(url: str, path: str, on: date) -> None:
    """One path over the city in one transaction, measured, then rolled back; its figures as one JSON line."""
    from sqlalchemy import text

    from onecity.benefits import offers
    from onecity.benefits.catalogue import POLICIES
    from onecity.core.commands import cli_principal
    from onecity.core.db import Database
    from onecity.hub.registries import service as _registry  # noqa: F401

    db = Database(url)
    principal = cli_principal()
    try:
        with db.sessions() as s:
            s.begin()
            postgres = db.engine.dialect.name == "postgresql"
            pid = s.scalar(text("SELECT pg_backend_pid()")) if postgres else None
            rss_before = rss_mb("self")
            cpu_before = cpu_seconds(pid)
            t0 = time.perf_counter()
            # every backend of the database: the scan writes its shares from sessions of its own
            with Backends(db.engine.url.database if postgres else None) as backends:
                if path == "city":
                    tallies = offers.refresh_all(s, principal, on)
                    made, withdrawn = sum(t.made for t in tallies), sum(t.withdrawn for t in tallies)
                else:
                    done = [offers.refresh(s, principal, p.code, on) for p in POLICIES]
                    made, withdrawn = sum(len(r.made) for r in done), sum(len(r.withdrawn) for r in done)
                s.flush()
            seconds = time.perf_counter() - t0
            cpu_after = cpu_seconds(pid)
            backend_peak = peak_rss_mb(pid)
            s.rollback()
    finally:
        db.dispose()
    figures = {
        "seconds": round(seconds, 2),
        "made": made,
        "withdrawn": withdrawn,
        "db_backend_cpu_seconds": (
            round(cpu_after - cpu_before, 2) if cpu_before is not None and cpu_after is not None else None
        ),
        "db_all_backends_cpu_seconds": round(backends.cpu_seconds, 2) if pid is not None else None,
        "db_backend_peak_rss_mb": backend_peak,
        "python_rss_before_mb": round(rss_before, 1),
        # VmHWM: getrusage's ru_maxrss would keep the parent's peak across the exec
        "python_peak_rss_mb": peak_rss_mb("self"),
    }
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
