"""Why cases are sent back for correction (补正) and why items go past their time limit, in the simulation.

Seeds a city at ``--scale`` (or reuses ``--db``), runs ``--hours`` of the city's life events and the
services actor (applicants, upload checks, pre-review, officers), then reads the case files:

* every request for correction at acceptance, per material and per cause: what the clerk found
  opening the upload (the simulation's ground truth: the applicant's mistake, and which — the wrong
  kind, someone else's, expired, or a document no check reads) with what the upload check had said
  of it, or what the pre-review listed (its rule: a misread, a mismatch);
* every item due inside the run and not decided within its limit: its item, workflow and
  department, and which task it waited on (the role, and since when) or was decided late at.

The result line carries ``first_time_pass_rate``, ``within_time_limit_rate`` (as the report counts
them), the CPU seconds of the run and both breakdowns.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench._common import add_city_options, city_run, emit, log, parser

NAME = "services_passes"
CLERK_REASON = "材料与申请不符"


def tally(db: Any, wrong_docs: dict[str, str], end: datetime) -> dict[str, Any]:
    """Corrections by cause and material, and late items by where they waited."""
    from sqlalchemy import select

    from onecity.core import clock
    from onecity.services import catalogue
    from onecity.services.models import Case, CaseEvent, CaseStatus, Document, PreReview, WorkItem

    decided = (CaseStatus.APPROVED, CaseStatus.REFUSED)
    causes: Counter[str] = Counter()
    by_material: Counter[str] = Counter()
    by_item: Counter[str] = Counter()
    with db.sessions() as s:
        cases = {c.id: c for c in s.scalars(select(Case).where(Case.submitted_at.is_not(None)))}
        n_decided = sum(1 for c in cases.values() if c.status in decided)
        first = sum(1 for c in cases.values() if c.status in decided and c.supplements == 0)
        events: dict[str, list[CaseEvent]] = defaultdict(list)
        for e in s.scalars(select(CaseEvent).order_by(CaseEvent.id)):
            events[e.case_id].append(e)
        docs: dict[str, list[Document]] = defaultdict(list)
        for d in s.scalars(select(Document).order_by(Document.created_at)):
            docs[d.case_id].append(d)
        reviews: dict[str, list[PreReview]] = defaultdict(list)
        for r in s.scalars(select(PreReview).order_by(PreReview.created_at)):
            reviews[r.case_id].append(r)
        for cid, evs in events.items():
            case = cases.get(cid)
            if case is None:
                continue
            firsts = [e for e in evs if e.action == "task_accept" and e.detail.get("outcome") == "supplement"][:1]
            for e in firsts:  # the first request only: it is what breaks the first-time pass
                where = "bundle" if case.bundle_id else str(case.channel)
                by_item[case.item_code] += 1
                if e.detail.get("reason") == CLERK_REASON:
                    for code in e.detail.get("missing", []):
                        before = [d for d in docs[cid] if d.material_code == code and d.created_at <= e.at]
                        ref = before[-1].id if before else ""
                        checks = [
                            x.detail.get("status")
                            for x in evs
                            if x.action == "material_checked" and x.detail.get("material") == code and x.at <= e.at
                        ]
                        kind = "pdf" if before and before[-1].content_type == "application/pdf" else "image"
                        causes[f"clerk:{wrong_docs.get(ref, '?')}:check={checks[-1] if checks else 'none'}:{kind}"] += 1
                        by_material[f"{code} ({where})"] += 1
                else:
                    rounds = [r for r in reviews[cid] if r.created_at <= e.at]
                    last = rounds[-1] if rounds else None
                    rules = sorted(
                        {
                            f"{x.get('material')}:{x.get('rule')}"
                            for x in (last.reasons if last else [])
                            if x.get("outcome") in ("fail", "failed", False)
                        }
                    )
                    for c in last.corrections if last else []:
                        shown = last.documents if last else []
                        doc = next((d.get("document_id") for d in shown if d.get("material") == c.get("material")), "")
                        truth = wrong_docs.get(str(doc or ""), "right")
                        causes[f"prereview:{c.get('material')}:{c.get('field') or '-'}:truth={truth}"] += 1
                        by_material[f"{c.get('material')} ({where})"] += 1
                    if not (last and last.corrections):
                        causes["prereview:?" + ",".join(rules)] += 1
        last_day = clock.local(end).date()
        late: list[dict[str, Any]] = []
        waits: Counter[str] = Counter()
        items = {w.id: w for w in s.scalars(select(WorkItem))}
        by_case: dict[str, list[WorkItem]] = defaultdict(list)
        for w in items.values():
            by_case[w.case_id].append(w)
        due = 0
        for c in cases.values():
            if c.due_on is None or c.due_on >= last_day:
                continue
            due += 1
            if c.status in decided and c.within_limit:
                continue
            tasks = sorted(by_case[c.id], key=lambda w: w.created_at)
            open_ = [w for w in tasks if w.status == "open"]
            stuck = open_[0] if open_ else tasks[-1] if tasks else None
            where = f"{stuck.role}:{stuck.task_name}" if stuck else "?"
            waits[f"{catalogue.item(c.item_code).workflow}:{where}:{'open' if open_ else 'decided late'}"] += 1
            late.append(
                {
                    "case": c.number,
                    "item": c.item_code,
                    "limit": c.time_limit_days,
                    "department": c.department,
                    "district": c.division_code[:6],
                    "accepted": clock.local(c.accepted_at).isoformat(timespec="minutes") if c.accepted_at else None,
                    "due_on": c.due_on.isoformat(),
                    "decided": clock.local(c.decided_at).isoformat(timespec="minutes") if c.decided_at else None,
                    "tasks": [
                        f"{w.task_name}@{clock.local(w.created_at):%m-%d %H:%M}"
                        + (f"→{clock.local(w.done_at):%m-%d %H:%M}" if w.done_at else " open")
                        for w in tasks
                    ],
                }
            )
    return {
        "decided": n_decided,
        "first_time_pass_rate": round(first / n_decided, 4) if n_decided else None,
        "sent_back": sum(by_item.values()),
        "causes": dict(causes.most_common()),
        "by_material": dict(by_material.most_common()),
        "by_item": dict(by_item.most_common()),
        "items_due_inside_the_run": due,
        "within_time_limit_rate": round((due - len(late)) / due, 4) if due else None,
        "late_by_wait": dict(waits.most_common()),
        "late": late[:40],
    }


def main() -> None:
    p = parser(__doc__ or NAME)
    add_city_options(p, hours=24, db_help="SQLite file: seeded when empty (default: a scratch file)")
    p.add_argument("--scans", type=float, default=1.0, help="share of machine-read materials uploaded as scans")
    p.add_argument("--checkpoint", type=Path, help="write the tally here at each simulated day's end")
    args = p.parse_args()
    from onecity.sim import actors
    from onecity.sim.cli import ensure_city
    from onecity.sim.engine import Simulation, _to_stderr
    from onecity.synth.actors.services import ServicesActor

    with city_run(args, "passes") as city:
        db, start = city.db, city.start
        ensure_city(db, args.scale, args.seed)
        built = actors.build(args.scale, ["onecity.synth.actors.registries", "onecity.synth.actors.services"])
        services = next(a for a in built if isinstance(a, ServicesActor))
        services.scan_share = args.scans
        log(f"{args.hours:g} simulated hours at scale {args.scale:g}, seed {args.seed} (life events and services)…")

        def daily(now: datetime) -> None:
            if args.checkpoint and now > start and (now - start) % timedelta(days=1) == timedelta(0):
                args.checkpoint.write_text(
                    json.dumps(tally(db, services._wrong_docs, now), ensure_ascii=False, indent=1)
                )

        sim = Simulation(
            db, built, start=start, seed=args.seed, deliver_events=True, progress=_to_stderr, on_step=daily
        )
        sim.run(args.hours)
        figures = tally(db, services._wrong_docs, sim.now)
        figures["actor"] = {k: v for k, v in services.report().items() if isinstance(v, int)}
        figures.update(city.seconds())
    emit(NAME, {"scale": args.scale, "seed": args.seed, "hours": args.hours, "scans": args.scans}, figures)


if __name__ == "__main__":
    main()
