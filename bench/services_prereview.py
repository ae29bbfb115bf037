"""A simulated day of applications with many forged scans: is anything forged or ineligible
approved unattended (goal: 0), how much is approved with no officer, and how long a
pre-review takes.

The city is seeded at 1:1000 into a scratch SQLite database and the services actor alone
runs for 24 simulated hours (Tuesday 2 June 2026) with every event delivered as it happens:
applicants upload scans printed for themselves by the document corpus — ``--forged`` of them
forged (0.5 by default, ten times the simulation's realistic 5 %), 40 % degraded, 3 % the
wrong document — and AI pre-review reads each submission. ``false_auto_approvals`` is judged
on the simulation's own ground truth (which scans it forged; the applicant's age and hukou
read directly from the registry), not on what the pre-review concluded.

Baseline, same run: the same day at the realistic forged share is not repeated (it would
double the run); the report of ``onecity simulate`` gives that day's figures.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from bench._common import emit, log, parser, sqlite_url

NAME = "services_prereview"


def main() -> None:
    p = parser(__doc__ or NAME)
    p.add_argument("--forged", type=float, default=0.5, help="share of scans forged")
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--seed", type=int, default=2)
    args = p.parse_args()
    scale = 0.001
    if args.quick:
        scale, args.hours = 0.0001, 2.0

    from onecity.core import clock
    from onecity.credentials import keys
    from onecity.sim.cli import ensure_city
    from onecity.sim.engine import Simulation
    from onecity.synth.actors.services import ServicesActor

    start = datetime(2026, 6, 2, 9 if args.quick else 0, 0, tzinfo=clock.SHANGHAI)
    with sqlite_url(NAME) as url:
        from onecity.core.db import Database

        db = Database(url)
        log(f"seeding a city at {scale:g} × Shanghai…")
        ensure_city(db, scale, args.seed)
        keys.use_secret(db, "bench-" + "s" * 40)
        actor = ServicesActor(scale, forged_share=args.forged)
        sim = Simulation(
            db, [actor], start=start, seed=args.seed, step=timedelta(minutes=10), deliver_events=True, progress=log
        )
        t0 = time.perf_counter()
        sim.run(args.hours)
        wall = time.perf_counter() - t0
        report = sim.report()["services"]
        db.dispose()
    keys_of = (
        "applications",
        "scans",
        "scans_forged",
        "scans_wrong_document",
        "prereviewed",
        "prereviewed_share",
        "prereview_outcomes",
        "auto_approved",
        "false_auto_approvals",
        "forged_cases",
        "forged_cases_prereviewed_as",
        "forgeries_replaced_after_upload_check",
        "forgeries_replaced_by_kind",
        "forgeries_kept_by_kind",
        "uploads_kept_after_upload_check",
        "kept_uploads_not_forged",
        "forged_drafts_kept",
        "forged_drafts_kept_prereviewed",
        "forged_drafts_kept_sent_to_officer",
        "forged_drafts_kept_routed_by_kept_upload",
        "forged_drafts_kept_approved_unattended",
        "prereview_seconds_p50",
        "prereview_seconds_p50_all",
        "approved",
        "refused",
        "in_progress",
    )
    figures = {k: report.get(k) for k in keys_of}
    figures["wall_seconds"] = round(wall, 1)
    log(f"\n{NAME}: {args.hours:g} simulated hours at 1:{1 / scale:,.0f}, forged share {args.forged}")
    for k in keys_of:
        log(f"  {k:<32} {figures[k]}")
    emit(NAME, {"scale": scale, "hours": args.hours, "forged_share": args.forged, "seed": args.seed}, figures)


if __name__ == "__main__":
    main()
