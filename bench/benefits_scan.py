"""Proactive benefits: every policy's table over the whole registry in one pass per kind of
subject, written inside the database, against SpiffWorkflow's DMN decision per record (the
ratio), on the same seeded city.

The city is seeded at ``--scale`` (1:1000 by default) on ``--backend`` (PostgreSQL by default;
``--db-url``: an already seeded database instead, left as it is). ``one_pass``: the city's scan
(``service.scan_city``: one ``INSERT … SELECT`` per kind of subject into ``benefit_grants``; on
PostgreSQL by ``--sessions`` sessions at once, each over a share of the records), its wall time,
the process's memory and (PostgreSQL, read from ``/proc``) the CPU time of the bench's backend and
of every backend of the database while it ran (the scan's sessions, parallel workers), and the
bench's backend's peak resident memory. ``set_based`` (unless ``--no-per-policy``): each of the
22 policies' compiled query run on its own over every person or firm and fetched into Python, the
total wall time and rows granted. ``per_record``: the same tables decided one record at a time
(read the record and its certificates, compute the facts, run the DMN engine) for a
random ``--sample`` of persons and of firms, timed, and extrapolated linearly to every record
(its cost is per record, independent of how many there are): running it over the whole city
at 1:1000 would take most of an hour on this machine. ``mismatches`` compares each set-based
result with the per-record decision on the sample (must be 0). The load average is printed
beside the figures: the machine is shared.
"""

from __future__ import annotations

import os
import resource
import time
from contextlib import nullcontext
from datetime import date

from bench._common import database_url, emit, log, parser, ratio
from bench._proc import Backends, cpu_seconds, peak_rss_mb, rss_mb

NAME = "benefits_scan"


def main() -> None:
    p = parser(__doc__ or NAME)
    p.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    p.add_argument("--scale", type=float, default=0.001)
    p.add_argument("--sample", type=int, default=300, help="persons and firms each decided per record")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--sessions", type=int, default=2, help="PostgreSQL sessions the city's scan is written by")
    p.add_argument("--on", default="2026-12-05")
    p.add_argument("--db-url", help="an already seeded database to scan (not dropped) instead of seeding one")
    p.add_argument(
        "--no-per-policy", dest="per_policy", action="store_false", help="skip the 22 queries fetched into Python"
    )
    args = p.parse_args()
    if args.quick:
        args.backend, args.scale, args.sample = "sqlite", 0.0001, 40
    on = date.fromisoformat(args.on)

    from sqlalchemy import func, select, text

    from onecity.benefits import service
    from onecity.benefits.catalogue import POLICIES
    from onecity.benefits.facts import Subject
    from onecity.benefits.models import benefit_grants
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
            if args.backend == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE persons, legal_persons, certificates"))
            principal = cli_principal()
            with db.sessions() as s:
                n = {
                    Subject.PERSON: int(s.scalar(select(func.count()).select_from(Person)) or 0),
                    Subject.FIRM: int(s.scalar(select(func.count()).select_from(LegalPerson)) or 0),
                }
                sample = {
                    Subject.PERSON: list(s.scalars(select(Person.id).order_by(func.random()).limit(args.sample))),
                    Subject.FIRM: list(s.scalars(select(LegalPerson.id).order_by(func.random()).limit(args.sample))),
                }
            log(f"{n[Subject.PERSON]:,} persons, {n[Subject.FIRM]:,} firms; {len(POLICIES)} policies")
            rss_before = rss_mb("self")
            t0 = time.perf_counter()
            with db.transaction() as s:
                backend_pid = s.scalar(text("SELECT pg_backend_pid()")) if args.backend == "postgresql" else None
                database = s.scalar(text("SELECT current_database()")) if backend_pid else None
                cpu_before = cpu_seconds(backend_pid)
                with Backends(database) as backends:
                    one_pass_counts = service.scan_city(s, principal, on, sessions=args.sessions)
                cpu_after = cpu_seconds(backend_pid)
                backend_hwm_mb = peak_rss_mb(backend_pid)
            one_pass_seconds = time.perf_counter() - t0
            one_pass_rss_growth = rss_mb("self") - rss_before
            log(f"one pass: {one_pass_seconds:.2f} s, {sum(one_pass_counts.values()):,} grants")
            one_pass: dict[str, dict[int, float]] = {pol.code: {} for pol in POLICIES}
            with db.sessions() as s:
                for subject in (Subject.PERSON, Subject.FIRM):
                    codes = [pol.code for pol in POLICIES if pol.subject is subject]
                    rows = s.execute(
                        select(
                            benefit_grants.c.policy_code, benefit_grants.c.subject_id, benefit_grants.c.amount
                        ).where(
                            benefit_grants.c.policy_code.in_(codes), benefit_grants.c.subject_id.in_(sample[subject])
                        )
                    )
                    for code, rid, amount in rows:
                        one_pass[code][int(rid)] = float(amount)
            granted: dict[str, dict[int, float]] = {}
            set_seconds = float("nan")
            if args.per_policy:
                t0 = time.perf_counter()
                with db.transaction() as s:
                    for pol in POLICIES:
                        granted[pol.code] = service.scan(s, principal, pol.code, on).granted
                set_seconds = time.perf_counter() - t0
                log(f"22 queries fetched: {set_seconds:.2f} s")
            decisions = 0
            mismatches = 0
            one_pass_mismatches = 0
            per_record_seconds = {Subject.PERSON: 0.0, Subject.FIRM: 0.0}
            with db.sessions() as s:
                for pol in POLICIES:
                    ids = sample[pol.subject]
                    t1 = time.perf_counter()
                    expected = service.granted_per_record(s, pol, ids, on)
                    per_record_seconds[pol.subject] += time.perf_counter() - t1
                    decisions += len(ids)
                    chosen = set(ids)
                    if args.per_policy:
                        found = {i: a for i, a in granted[pol.code].items() if i in chosen}
                        mismatches += len(set(found.items()) ^ set(expected.items()))
                    one_pass_mismatches += len(set(one_pass[pol.code].items()) ^ set(expected.items()))
            # per record over everyone: each subject's sampled time per record, times its records
            extrapolated = sum(
                per_record_seconds[k] / max(1, len(sample[k])) * n[k] for k in (Subject.PERSON, Subject.FIRM)
            )
        finally:
            db.dispose()
    load = os.getloadavg()
    decided = (n[Subject.PERSON] + n[Subject.FIRM]) * len(POLICIES)
    figures = {
        "persons": n[Subject.PERSON],
        "firms": n[Subject.FIRM],
        "policies": len(POLICIES),
        "one_pass_seconds": round(one_pass_seconds, 3),
        "one_pass_records_per_second": round(decided / one_pass_seconds),
        "one_pass_granted_total": sum(one_pass_counts.values()),
        "one_pass_mismatches_on_sample": one_pass_mismatches,
        # the database backend's own CPU time for the scan: on the shared machine, what it would take alone
        "one_pass_db_backend_cpu_seconds": (
            round(cpu_after - cpu_before, 2) if cpu_before is not None and cpu_after is not None else None
        ),
        # every backend of the database (the scan's sessions, their parallel workers) while it ran
        "one_pass_db_all_backends_cpu_seconds": round(backends.cpu_seconds, 2) if database else None,
        "one_pass_db_backends_seen": len(backends.last) if database else None,
        "one_pass_db_backend_peak_rss_mb": backend_hwm_mb,
        "one_pass_process_rss_growth_mb": round(one_pass_rss_growth, 1),
        "granted_total": sum(len(g) for g in granted.values()) if args.per_policy else None,
        "set_based_seconds": round(set_seconds, 3) if args.per_policy else None,
        "set_based_records_per_second": round(decided / set_seconds) if args.per_policy else None,
        "mismatches_on_sample": mismatches if args.per_policy else None,
        # the whole process, seeding and the 22 queries' results included
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average_1_5_15": [round(x, 2) for x in load],
    }
    per_decision = sum(per_record_seconds.values()) / max(1, decisions)
    baseline = {
        "per_record_decisions_sampled": decisions,
        "per_record_ms_per_decision": round(per_decision * 1000, 3),
        "per_record_full_scan_seconds_extrapolated": round(extrapolated, 1),
    }
    ratios = {
        "per_record_over_one_pass": ratio(extrapolated, one_pass_seconds),
        "per_record_over_set_based": ratio(extrapolated, set_seconds) if args.per_policy else None,
        "set_based_over_one_pass": ratio(set_seconds, one_pass_seconds) if args.per_policy else None,
    }
    log(f"\n{NAME}: scale {args.scale:g} on {args.backend}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for k, v in {**figures, **baseline, **ratios}.items():
        log(f"  {k:<44} {v}")
    emit(
        NAME,
        {
            "backend": args.backend,
            "scale": args.scale,
            "sample": args.sample,
            "seed": args.seed,
            "on": args.on,
            "per_policy": args.per_policy,
        },
        figures,
        baseline,
        ratios,
    )


if __name__ == "__main__":
    main()
