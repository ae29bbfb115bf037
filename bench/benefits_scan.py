"""Proactive benefits: every policy's table as one SQL query over the whole registry, against
SpiffWorkflow's DMN decision per record (the ratio), on the same seeded city.

The city is seeded at ``--scale`` (1:1000 by default) on ``--backend`` (PostgreSQL by default).
``set_based``: each of the 22 policies' compiled query run over every person or firm, the
total wall time and rows granted. ``per_record``: the same tables decided one record at a
time (read the record and its certificates, compute the facts, run the DMN engine) for a
random ``--sample`` of persons and of firms, timed, and extrapolated linearly to every record
(its cost is per record, independent of how many there are): running it over the whole city
at 1:1000 would take most of an hour on this machine. ``mismatches`` compares the two on the
sample (must be 0). The load average is printed beside the figures: the machine is shared.
"""

from __future__ import annotations

import os
import resource
import time
from datetime import date

from bench._common import database_url, emit, log, parser, ratio

NAME = "benefits_scan"


def main() -> None:
    p = parser(__doc__ or NAME)
    p.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    p.add_argument("--scale", type=float, default=0.001)
    p.add_argument("--sample", type=int, default=300, help="persons and firms each decided per record")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--on", default="2026-12-05")
    args = p.parse_args()
    if args.quick:
        args.backend, args.scale, args.sample = "sqlite", 0.0001, 40
    on = date.fromisoformat(args.on)

    from sqlalchemy import func, select

    from onecity.benefits import service
    from onecity.benefits.catalogue import POLICIES
    from onecity.benefits.facts import Subject
    from onecity.core.commands import cli_principal
    from onecity.core.db import Database
    from onecity.hub.registries import service as _registry  # noqa: F401  (registers the seed's actions)
    from onecity.hub.registries.models import LegalPerson, Person
    from onecity.sim.cli import ensure_city

    with database_url(args.backend, NAME) as url:
        db = Database(url)
        try:
            log(f"seeding a city at {args.scale:g} × Shanghai on {args.backend}…")
            ensure_city(db, args.scale, args.seed)
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
            granted: dict[str, dict[int, float]] = {}
            t0 = time.perf_counter()
            with db.transaction() as s:
                for pol in POLICIES:
                    granted[pol.code] = service.scan(s, principal, pol.code, on).granted
            set_seconds = time.perf_counter() - t0
            decisions = 0
            mismatches = 0
            per_record_seconds = {Subject.PERSON: 0.0, Subject.FIRM: 0.0}
            with db.sessions() as s:
                for pol in POLICIES:
                    ids = sample[pol.subject]
                    t1 = time.perf_counter()
                    expected = service.granted_per_record(s, pol, ids, on)
                    per_record_seconds[pol.subject] += time.perf_counter() - t1
                    decisions += len(ids)
                    chosen = set(ids)
                    found = {i: a for i, a in granted[pol.code].items() if i in chosen}
                    mismatches += len(set(found.items()) ^ set(expected.items()))
            # per record over everyone: each subject's sampled time per record, times its records
            extrapolated = sum(
                per_record_seconds[k] / max(1, len(sample[k])) * n[k] for k in (Subject.PERSON, Subject.FIRM)
            )
        finally:
            db.dispose()
    load = os.getloadavg()
    figures = {
        "persons": n[Subject.PERSON],
        "firms": n[Subject.FIRM],
        "policies": len(POLICIES),
        "granted_total": sum(len(g) for g in granted.values()),
        "set_based_seconds": round(set_seconds, 3),
        "set_based_records_per_second": round((n[Subject.PERSON] + n[Subject.FIRM]) * len(POLICIES) / set_seconds),
        "mismatches_on_sample": mismatches,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average_1_5_15": [round(x, 2) for x in load],
    }
    per_decision = sum(per_record_seconds.values()) / max(1, decisions)
    baseline = {
        "per_record_decisions_sampled": decisions,
        "per_record_ms_per_decision": round(per_decision * 1000, 3),
        "per_record_full_scan_seconds_extrapolated": round(extrapolated, 1),
    }
    ratios = {"per_record_over_set_based": ratio(extrapolated, set_seconds)}
    log(f"\n{NAME}: scale {args.scale:g} on {args.backend}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for k, v in {**figures, **baseline, **ratios}.items():
        log(f"  {k:<44} {v}")
    emit(
        NAME,
        {"backend": args.backend, "scale": args.scale, "sample": args.sample, "seed": args.seed, "on": args.on},
        figures,
        baseline,
        ratios,
    )


if __name__ == "__main__":
    main()
