"""The run's figures per simulated day, per district and per department, read from the case files.

``onecity simulate`` adds them to the report as ``breakdown`` and draws them in the HTML report
(:mod:`onecity.sim.html`). Everything is counted from the records the run left (services cases,
urban-operations cases, benefit offers), not from the actors' own tallies, so a figure here can
be checked with a query.

``within_time_limit_rate`` counts the items whose time limit fell inside the run (a deadline
``due_on`` before the run's last day): decided within it, against all of them — decided late or
still open past it. A 24-hour run sees few such deadlines; a month sees most.

Operations cases count as closed by :func:`onecity.synth.actors.ops.closed_cases`, the definition the
``operations`` section uses: a resident's report rejected as not a case (不予立案) has a ``closed_at``
but is not a case closed, neither on time nor late.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from onecity.benefits.models import BenefitOffer, OfferStatus
from onecity.core import clock
from onecity.core.db import Database
from onecity.core.divisions import Division, DivisionLevel
from onecity.services import catalogue
from onecity.services.models import Case, CaseStatus
from onecity.synth.actors.ops import closed_cases

DECIDED = (CaseStatus.APPROVED, CaseStatus.REFUSED)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _blank() -> dict[str, int]:
    return defaultdict(int)


def _tally(rows: dict[str, dict[str, int]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, c in sorted(rows.items()):
        out[key] = {
            "submitted": c["submitted"],
            "decided": c["decided"],
            "approved": c["approved"],
            "first_time_pass_rate": _rate(c["first_time"], c["decided"]),
            "within_time_limit_rate": _rate(c["within"], c["due"]),
            "prefilled_field_share": _rate(c["prefilled"], c["fields"]),
            "ops_closed": c["ops_closed"],
            "ops_closed_on_time_rate": _rate(c["ops_on_time"], c["ops_closed"]),
            "proactive_offers": c["offers"],
            "proactive_accepted": c["accepted"],
        }
    return out


def breakdown(db: Database, start: datetime, end: datetime) -> dict[str, Any]:
    """Per day (Shanghai), per district and per department: cases submitted and decided, first-time
    pass, within the time limit, prefilled fields, operations cases closed on time, offers."""
    last_day: date = clock.local(end).date()
    day: dict[str, dict[str, int]] = defaultdict(_blank)
    district: dict[str, dict[str, int]] = defaultdict(_blank)
    department: dict[str, dict[str, int]] = defaultdict(_blank)
    due_total = due_within = 0
    with db.sessions() as s:
        names: dict[str, str] = {
            code: name
            for code, name in s.execute(
                select(Division.code, Division.name).where(Division.level == DivisionLevel.DISTRICT)
            )
        }
        rows = s.execute(
            select(
                Case.department,
                Case.division_code,
                Case.status,
                Case.submitted_at,
                Case.decided_at,
                Case.supplements,
                Case.within_limit,
                Case.due_on,
                Case.fields_total,
                Case.fields_prefilled,
            ).where(Case.submitted_at.is_not(None), Case.submitted_at >= start)
        )
        for dept, division, status, submitted, decided, supplements, within, due_on, fields, prefilled in rows:
            if submitted is None:
                continue
            where = f"{division[:6]}000000"
            targets = [day[clock.local(submitted).date().isoformat()], district[where], department[dept]]
            for t in targets:
                t["submitted"] += 1
                t["fields"] += fields or 0
                t["prefilled"] += prefilled or 0
            if status in DECIDED and decided is not None:
                for t in (day[clock.local(decided).date().isoformat()], district[where], department[dept]):
                    t["decided"] += 1
                    t["approved"] += int(status == CaseStatus.APPROVED)
                    t["first_time"] += int(supplements == 0)
            if due_on is not None and due_on < last_day:  # its limit fell inside the run
                ok = status in DECIDED and bool(within)
                due_total += 1
                due_within += int(ok)
                for t in (day[due_on.isoformat()], district[where], department[dept]):
                    t["due"] += 1
                    t["within"] += int(ok)
        for c in closed_cases(s, start):  # the operations section's own definition of closed and on time
            for t in (day[clock.local(c.closed_at).date().isoformat()], district[c.district_code]):
                t["ops_closed"] += 1
                t["ops_on_time"] += int(c.closed_on_time)
        for created, offer_status, division in s.execute(
            select(BenefitOffer.created_at, BenefitOffer.status, BenefitOffer.division_code).where(
                BenefitOffer.created_at >= start
            )
        ):
            for t in (day[clock.local(created).date().isoformat()], district[f"{division[:6]}000000"]):
                t["offers"] += 1
                t["accepted"] += int(offer_status == OfferStatus.ACCEPTED)
    departments = {d: catalogue.department(d) for d in department if d}
    return {
        "within_time_limit_rate": _rate(due_within, due_total),
        "items_due_inside_the_run": due_total,
        "per_day": _tally(day),
        "per_district": {
            code: {"name": names.get(code, code), **figures}
            for code, figures in _tally(district).items()
            if code in names
        },
        "per_department": {
            code: {"name": departments[code].get("name", code), "name_en": departments[code].get("name_en", code), **f}
            for code, f in _tally(department).items()
        },
    }
