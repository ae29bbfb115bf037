"""What an operation centre sees: live counts of its area, overdue and escalated cases, the map, evaluation.

One centre per level — the city, each district, each township — each scoped to its own
area by the access policy (a township operator asking for another township gets 403), with
drill-down: the city's figures break down by district, a district's by township, a
township's by community.

Evaluation follows GB/T 30428's assessment of departments and areas: on-time dispatch,
on-time disposal, closure rate and rework rate, folded into a score out of 100
(weights 0.2 / 0.4 / 0.3 / 0.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, true
from sqlalchemy.orm import Session

from onecity.core import clock, policy
from onecity.core.divisions import MUNICIPALITY_CODE, Division, DivisionLevel, level_of, scope_prefix, validate_code
from onecity.core.errors import InvalidInput, NotFound
from onecity.core.identity.models import Agency
from onecity.core.identity.principal import Principal
from onecity.ops.models import DONE, OPEN, Case, Level, Status, Unit
from onecity.ops.service import RESOURCE
from onecity.ops.taxonomy import taxonomy

LEVEL_OF_DIVISION = {
    DivisionLevel.MUNICIPALITY: Level.CITY,
    DivisionLevel.DISTRICT: Level.DISTRICT,
    DivisionLevel.TOWNSHIP: Level.TOWNSHIP,
}
#: Cases still running a clock (the overdue list looks at these).
TIMED = (Status.COLLECTED, Status.REGISTERED, Status.DISPATCHED, Status.DISPOSING, Status.REPORTED, Status.VERIFIED)
WEIGHTS = {"on_time_dispatch": 0.2, "on_time_disposal": 0.4, "closure_rate": 0.3, "rework_free": 0.1}


@dataclass
class Summary:
    code: str
    name: str
    name_en: str
    level: Level
    by_status: dict[str, int]
    by_class: dict[str, int]
    children: list[dict[str, Any]]
    overdue: list[Case]
    escalated: list[Case]
    totals: dict[str, int] = field(default_factory=dict)
    at: datetime = field(default_factory=clock.now)


def _division(session: Session, principal: Principal, code: str) -> Division:
    policy.require(principal, "ops.case.read")
    validate_code(code)
    division = session.get(Division, code)
    if division is None or division.level not in LEVEL_OF_DIVISION:
        raise NotFound(f"no operation centre for {code}: centres are the city, a district or a township")
    policy.require_in_scope(session, principal, RESOURCE, code)
    return division


def _in(code: str) -> ColumnElement[bool]:
    return Case.division_code.startswith(scope_prefix(code)) if code != MUNICIPALITY_CODE else true()


def centre_code(principal: Principal) -> str:
    """The centre a principal lands on: their own township, district or the city."""
    code = principal.division_code or MUNICIPALITY_CODE
    level = level_of(code)
    if level is DivisionLevel.COMMUNITY:
        return code[:9] + "000"
    return code


def summary(session: Session, principal: Principal, code: str, *, list_limit: int = 50) -> Summary:
    division = _division(session, principal, code)
    level = LEVEL_OF_DIVISION[DivisionLevel(division.level)]
    where = _in(code)
    by_status = {
        str(s): int(n) for s, n in session.execute(select(Case.status, func.count()).where(where).group_by(Case.status))
    }
    by_class = {
        str(c): int(n)
        for c, n in session.execute(
            select(Case.major_code, func.count()).where(where, Case.status.in_(OPEN)).group_by(Case.major_code)
        )
    }
    child_col = {
        Level.CITY: Case.district_code,
        Level.DISTRICT: Case.township_code,
        Level.TOWNSHIP: Case.division_code,
    }[level]
    now = clock.now()
    overdue_expr = and_(Case.status.in_(TIMED), Case.step_due_at < now)
    rows = session.execute(
        select(
            child_col,
            func.count(),
            func.sum(case((Case.status.in_(OPEN), 1), else_=0)),
            func.sum(case((overdue_expr, 1), else_=0)),
        )
        .where(where)
        .group_by(child_col)
    ).all()
    names = {d.code: d for d in session.scalars(select(Division).where(Division.code.in_([r[0] for r in rows])))}
    children = []
    for child, total, open_, overdue in rows:
        d = names.get(child)
        children.append(
            {
                "code": child,
                "name": d.name if d else child,
                "name_en": d.name_en if d else child,
                "total": int(total),
                "open": int(open_ or 0),
                "overdue": int(overdue or 0),
                "drill": level is not Level.TOWNSHIP,
            }
        )
    children.sort(key=lambda c: (-c["open"], c["code"]))
    overdue = list(
        session.scalars(select(Case).where(where, overdue_expr).order_by(Case.step_due_at).limit(list_limit))
    )
    higher = {
        Level.TOWNSHIP: (Level.DISTRICT, Level.CITY),
        Level.DISTRICT: (Level.DISTRICT, Level.CITY),
        Level.CITY: (Level.CITY,),
    }[level]
    escalated = list(
        session.scalars(
            select(Case)
            .where(where, Case.level.in_(higher), Case.status.in_(OPEN))
            .order_by(Case.updated_at.desc())
            .limit(list_limit)
        )
    )
    totals = {
        "open": sum(by_status.get(s.value, 0) for s in OPEN),
        "done": sum(by_status.get(s.value, 0) for s in DONE),
        "overdue": sum(c["overdue"] for c in children),
        "escalated": int(
            session.scalar(select(func.count()).where(where, Case.level.in_(higher), Case.status.in_(OPEN))) or 0
        ),
    }
    return Summary(
        code, division.name, division.name_en, level, by_status, by_class, children, overdue, escalated, totals, now
    )


#: How many rows a ranking shows before "all".
TOP_N = 10
#: The case list's page size, by default and at most.
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass
class CaseFilter:
    """What the centre's case list is narrowed to (every field optional; unknown values are refused)."""

    status: str | None = None  # one of OPEN
    major: str | None = None  # a major class code of the taxonomy
    area: str | None = None  # a division inside the centre's area (a child, or deeper)
    overdue: bool = False
    escalated: bool = False

    def validate(self, code: str) -> None:
        if self.status and self.status not in {s.value for s in OPEN}:
            raise InvalidInput(f"status must be one of the open statuses ({', '.join(s.value for s in OPEN)})")
        if self.major and self.major not in taxonomy().majors:
            raise InvalidInput(f"unknown case class {self.major!r}")
        if self.area:
            validate_code(self.area)
            if code != MUNICIPALITY_CODE and not self.area.startswith(scope_prefix(code)):
                raise InvalidInput(f"area {self.area} is not inside this centre's area {code}")


@dataclass
class CasePage:
    cases: list[Case]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def open_cases(
    session: Session,
    principal: Principal,
    code: str,
    flt: CaseFilter | None = None,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> CasePage:
    """The centre's open cases, what to do next first: overdue ones (the longest overdue first), then
    the rest by when their step falls due (suspended and undated last), then the oldest."""
    _division(session, principal, code)
    flt = flt or CaseFilter()
    flt.validate(code)
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page starts at 1; page_size is 1 to {MAX_PAGE_SIZE}")
    now = clock.now()
    overdue_expr = and_(Case.status.in_(TIMED), Case.step_due_at < now)
    where: list[ColumnElement[bool]] = [_in(code), Case.status.in_(OPEN)]
    if flt.status:
        where.append(Case.status == flt.status)
    if flt.major:
        where.append(Case.major_code == flt.major)
    if flt.area and flt.area != code:
        where.append(Case.division_code.startswith(scope_prefix(flt.area)))
    if flt.overdue:
        where.append(overdue_expr)
    if flt.escalated:
        where.append(Case.level != Level.TOWNSHIP)
    total = int(session.scalar(select(func.count()).select_from(Case).where(*where)) or 0)
    rows = session.scalars(
        select(Case)
        .where(*where)
        .order_by(
            case((overdue_expr, 0), else_=1),
            case((Case.step_due_at.is_(None), 1), else_=0),
            Case.step_due_at,
            Case.created_at,
            Case.id,
        )
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return CasePage(list(rows), total, page, page_size)


def ranked(rows: list[dict[str, Any]], key: str, n: int = TOP_N, *, reverse: bool = True) -> list[dict[str, Any]]:
    """The first ``n`` rows by ``key`` (largest first unless ``reverse`` is False); rows without a value last."""
    have = [r for r in rows if r.get(key) is not None]
    have.sort(key=lambda r: (-r[key] if reverse else r[key], str(r.get("key") or r.get("code"))))
    return (have + [r for r in rows if r.get(key) is None])[:n]


def live_counts(session: Session, principal: Principal, code: str) -> dict[str, Any]:
    """The small figure set the centre page refreshes over SSE."""
    s = summary(session, principal, code, list_limit=20)
    return {
        "at": s.at.isoformat(),
        "code": code,
        "by_status": s.by_status,
        "by_class": s.by_class,
        "totals": s.totals,
        "children": s.children,
        "overdue": [
            {
                "id": c.id,
                "subtype": c.subtype_code,
                "status": str(c.status),
                "level": str(c.level),
                "due": c.step_due_at.isoformat() if c.step_due_at else None,
            }
            for c in s.overdue
        ],
        "escalated": [
            {"id": c.id, "subtype": c.subtype_code, "status": str(c.status), "level": str(c.level)} for c in s.escalated
        ],
    }


def open_points(session: Session, principal: Principal, code: str, *, limit: int = 3000) -> dict[str, Any]:
    """Open cases as GeoJSON points for the centre's map (the city's own outlines are drawn under them)."""
    _division(session, principal, code)
    rows = session.execute(
        select(Case.id, Case.lon, Case.lat, Case.subtype_code, Case.status, Case.level, Case.step_due_at)
        .where(_in(code), Case.status.in_(OPEN))
        .order_by(Case.created_at.desc())
        .limit(limit)
    ).all()
    now = clock.now()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(r.lon, 6), round(r.lat, 6)]},
                "properties": {
                    "id": r.id,
                    "subtype": r.subtype_code,
                    "status": str(r.status),
                    "level": str(r.level),
                    "overdue": bool(r.step_due_at is not None and r.step_due_at < now),
                },
            }
            for r in rows
        ],
    }


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _score(m: dict[str, Any]) -> float | None:
    parts = {
        "on_time_dispatch": m["on_time_dispatch"],
        "on_time_disposal": m["on_time_disposal"],
        "closure_rate": m["closure_rate"],
        "rework_free": None if m["rework_rate"] is None else 1 - m["rework_rate"],
    }
    known = {k: v for k, v in parts.items() if v is not None}
    if not known:
        return None
    weight = sum(WEIGHTS[k] for k in known)
    return round(100 * sum(WEIGHTS[k] * float(v) for k, v in known.items()) / weight, 1)


def evaluation(session: Session, principal: Principal, code: str, *, by: str = "unit") -> list[dict[str, Any]]:
    """Per disposal unit, per department (all its units in the area) or per township: on-time dispatch and
    disposal, closure, rework, score."""
    _division(session, principal, code)
    if by not in ("unit", "department", "township"):
        raise NotFound("evaluation is by 'unit', 'department' or 'township'")
    key = {"unit": Case.unit_agency_id, "department": Case.department, "township": Case.township_code}[by]
    closed = Case.status.in_((Status.CLOSED, Status.EVALUATED))
    rows = session.execute(
        select(
            key,
            func.count(),
            func.sum(case((Case.dispatched_on_time.is_(True), 1), else_=0)),
            func.sum(case((Case.dispatched_on_time.is_not(None), 1), else_=0)),
            func.sum(case((Case.disposed_on_time.is_(True), 1), else_=0)),
            func.sum(case((Case.disposed_on_time.is_not(None), 1), else_=0)),
            func.sum(case((closed, 1), else_=0)),
            func.sum(case((Case.rework_count > 0, 1), else_=0)),
            func.sum(case((and_(closed, Case.closed_on_time.is_(True)), 1), else_=0)),
        )
        .where(_in(code), Case.unit_agency_id.is_not(None), Case.status != Status.REJECTED)
        .group_by(key)
    ).all()
    labels: dict[str, tuple[str, str, str]] = {}
    keys = [r[0] for r in rows if r[0]]
    if by == "unit":
        for a, u in session.execute(
            select(Agency, Unit).join(Unit, Unit.agency_id == Agency.id).where(Agency.id.in_(keys))
        ):
            labels[a.id] = (a.name, a.name_en, u.department)
    elif by == "department":
        depts = taxonomy().departments
        labels = {k: (depts[k].name, depts[k].name_en, k) for k in keys if k in depts}
    else:
        for d in session.scalars(select(Division).where(Division.code.in_(keys))):
            labels[d.code] = (d.name, d.name_en, "")
    out = []
    for k, total, disp_ok, disp_n, dispo_ok, dispo_n, closed_n, rework_n, closed_ok in rows:
        name, name_en, dept = labels.get(k, (k, k, ""))
        m: dict[str, Any] = {
            "key": k,
            "name": name,
            "name_en": name_en,
            "department": dept,
            "cases": int(total),
            "on_time_dispatch": _rate(int(disp_ok or 0), int(disp_n or 0)),
            "on_time_disposal": _rate(int(dispo_ok or 0), int(dispo_n or 0)),
            "closure_rate": _rate(int(closed_n or 0), int(total)),
            "closed_on_time_rate": _rate(int(closed_ok or 0), int(closed_n or 0)),
            "rework_rate": _rate(int(rework_n or 0), int(total)),
        }
        m["score"] = _score(m)
        out.append(m)
    out.sort(key=lambda m: (-(m["score"] or 0), m["key"]))
    return out
