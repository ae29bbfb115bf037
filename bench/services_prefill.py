"""Which form fields the registries fill in the simulation, and why the others are not.

Seeds a city at ``--scale`` (or reuses the one in ``--db``), runs ``--hours`` of the city's life
events and the services actor (the applicants and officers; no sensors, traffic or hotline, which
fill no form), then reads every submitted case's form from the case files: a field counts as
prefilled when the case still holds its registry value (``Case.prefill``), as the report's
``prefilled_field_share`` counts it. Each field left to the applicant is put down to one reason:

* ``no_source`` — the catalogue names no registry source for it (``x-prefill`` absent);
* ``source_empty`` — a source is named but the registry held nothing for this applicant;
* ``changed`` — the registry filled it and the applicant changed it.

The result line carries the share, the CPU seconds of the run and the unfilled fields by item.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from bench._common import add_city_options, city_run, emit, log, parser

NAME = "services_prefill"


def tally(db: Any) -> dict[str, Any]:
    """The prefilled share and every unfilled field of the submitted cases, by item and reason."""
    from sqlalchemy import select

    from onecity.services import catalogue
    from onecity.services.models import Case, CaseEvent

    fields = prefilled = 0
    unfilled: dict[str, Counter[str]] = defaultdict(Counter)
    by_item: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    with db.sessions() as s:
        drafted = {
            cid: set((detail or {}).get("prefilled", []))
            for cid, detail in s.execute(
                select(CaseEvent.case_id, CaseEvent.detail).where(CaseEvent.action == "drafted")
            )
        }
        rows = s.execute(
            select(Case.id, Case.item_code, Case.prefill, Case.fields_total, Case.fields_prefilled).where(
                Case.submitted_at.is_not(None)
            )
        ).all()
    for cid, code, prefill, total, done in rows:
        fields += total or 0
        prefilled += done or 0
        entry = by_item[code]
        entry[0] += 1
        entry[1] += total or 0
        entry[2] += done or 0
        for name in catalogue.item(code).fields:
            if name in (prefill or {}):
                continue
            source = catalogue.field(name).get("x-prefill")
            if not source:
                reason = "no_source"
            elif name in drafted.get(cid, set()):
                reason = "changed"
            else:
                reason = f"source_empty:{source}"
            unfilled[reason.split(":")[0]][f"{code} {name}"] += 1
    return {
        "cases": len(rows),
        "fields": fields,
        "prefilled": prefilled,
        "prefilled_field_share": round(prefilled / fields, 4) if fields else None,
        "unfilled_share": {k: round(sum(v.values()) / fields, 4) for k, v in unfilled.items()} if fields else {},
        "unfilled": {k: dict(v.most_common()) for k, v in unfilled.items()},
        "by_item": {
            code: {"cases": n, "fields": f, "prefilled_share": round(p / f, 3) if f else None}
            for code, (n, f, p) in sorted(by_item.items(), key=lambda kv: -kv[1][1])
        },
    }


def main() -> None:
    p = parser(__doc__ or NAME)
    add_city_options(p, hours=12, db_help="SQLite file: seeded when empty, reused otherwise (default: a scratch file)")
    p.add_argument("--tally-only", action="store_true", help="read the case files of an earlier run, run nothing")
    args = p.parse_args()
    from onecity.sim.cli import run

    with city_run(args, "prefill") as city:
        if not args.tally_only:
            log(f"{args.hours:g} simulated hours at scale {args.scale:g}, seed {args.seed} (life events and services)…")
            run(
                city.db,
                scale=args.scale,
                seed=args.seed,
                hours=args.hours,
                speed=None,
                actor_modules=["onecity.synth.actors.registries", "onecity.synth.actors.services"],
                progress="lines",
                scan_share=0.0,
                start=city.start,
            )
        figures = tally(city.db)
        figures.update(city.seconds())
    emit(NAME, {"scale": args.scale, "seed": args.seed, "hours": args.hours}, figures)


if __name__ == "__main__":
    main()
