"""Disposal units: each department's unit in each township (street-level squads) or district (bureaus).

Dispatch sends a case to the responsible department's unit for the case's township (for a
township-level department such as the enforcement squad) or district (for a district
bureau such as Water Affairs). Each unit is an agency of its own, so its staff sign in
under it and see exactly the cases sent to it. :func:`install_units` creates them, and is
idempotent like the catalogue's install: units that exist are left alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onecity.core import audit, clock, policy
from onecity.core.divisions import Division, DivisionLevel, scope_prefix
from onecity.core.errors import InvalidInput, NotFound
from onecity.core.identity import service as identity
from onecity.core.identity.models import Agency
from onecity.core.identity.principal import Principal, system_principal
from onecity.core.identity.roles import Role
from onecity.hub.geography.index import grid_index
from onecity.ops import worktime
from onecity.ops.models import Case, Shift, Status, Unit
from onecity.ops.taxonomy import UnitLevel, Urgency, taxonomy

policy.register_actions({"ops.unit.capacity": frozenset({Role.OPERATOR})})

#: A case waiting for a unit, or being worked by it: the unit's open load.
LOAD = (Status.DISPATCHED, Status.DISPOSING)
#: Another area's unit of the same department helps only this close to the case (kilometres from
#: the centre of its township or district to the place): the neighbours, not the far side of the city.
AID_KM = 15.0
DAY_SHIFT = (7, 19)


@dataclass(frozen=True)
class UnitsReport:
    created: int
    existing: int


def unit_agency_code(department: str, division_code: str) -> str:
    """``ops-<district or township prefix>-<department>``, e.g. ``ops-310104003-sanitation``."""
    return f"ops-{scope_prefix(division_code)}-{department}"


def install_units(session: Session, principal: Principal | None = None, *, within: str | None = None) -> UnitsReport:
    """Create every department's unit in every district and township (or only those ``within`` a division)."""
    principal = principal or system_principal("ops-install")
    tax = taxonomy()
    stmt = select(Division).where(Division.level.in_([DivisionLevel.DISTRICT, DivisionLevel.TOWNSHIP]))
    if within:
        stmt = stmt.where(Division.code.startswith(scope_prefix(within)))
    divisions = list(session.scalars(stmt.order_by(Division.code)))
    have = {(u.department, u.division_code) for u in session.scalars(select(Unit))}
    created = existing = 0
    for division in divisions:
        level = UnitLevel.DISTRICT if division.level == DivisionLevel.DISTRICT else UnitLevel.TOWNSHIP
        for dept in tax.departments.values():
            if dept.level is not level:
                continue
            if (dept.key, division.code) in have:
                existing += 1
                continue
            code = unit_agency_code(dept.key, division.code)
            agency = session.scalar(select(Agency).where(Agency.code == code))
            if agency is None:
                agency = identity.create_agency(
                    session,
                    principal,
                    code=code,
                    name=f"{division.name}{dept.name}",
                    name_en=f"{division.name_en} {dept.name_en}",
                    division_code=division.code,
                )
            session.add(Unit(agency_id=agency.id, department=dept.key, division_code=division.code, level=level.value))
            created += 1
    session.flush()
    return UnitsReport(created, existing)


def unit_for(session: Session, department: str, township_code: str, district_code: str) -> Unit:
    """The unit of ``department`` that serves a place in this township (and district)."""
    dept = taxonomy().department(department)
    division = township_code if dept.level is UnitLevel.TOWNSHIP else district_code
    unit = session.scalar(select(Unit).where(Unit.department == department, Unit.division_code == division))
    if unit is None:
        raise NotFound(f"no {dept.name_en} unit serves division {division}: run `onecity ops install`")
    return unit


# -- capacity and shifts ---------------------------------------------------------------------


def on_shift(unit: Unit, at: datetime) -> bool:
    """Whether the unit's crews are out at ``at``."""
    shift = Shift(unit.shift)
    if shift is Shift.ROUND_THE_CLOCK:
        return True
    if shift is Shift.OFFICE:
        return worktime.is_working_time(at)
    return DAY_SHIFT[0] <= clock.local(at).hour < DAY_SHIFT[1]


def can_take(unit: Unit, urgency: Urgency, at: datetime) -> bool:
    """Whether the unit's crews can start on a case of this urgency now. A normal case's limit counts
    working hours, which every shift covers, so any unit can take it; an urgent case's clock runs every
    hour, so it needs crews out now."""
    return urgency is Urgency.NORMAL or on_shift(unit, at)


def loads(session: Session, unit_ids: list[str]) -> dict[str, int]:
    """Each unit's open load: the cases dispatched to it and not yet reported back."""
    if not unit_ids:
        return {}
    rows = session.execute(
        select(Case.unit_agency_id, func.count())
        .where(Case.unit_agency_id.in_(unit_ids), Case.status.in_(LOAD))
        .group_by(Case.unit_agency_id)
    ).all()
    got = {str(u): int(n) for u, n in rows}
    return {u: got.get(u, 0) for u in unit_ids}


def has_room(unit: Unit, load: int) -> bool:
    """A crew is free (a unit that declared no crews is never counted full)."""
    return unit.crews is None or load < unit.crews


_CENTRES: dict[tuple[int, str], tuple[float, float] | None] = {}


def _centre(session: Session, code: str) -> tuple[float, float] | None:
    """The middle of a division's grids' extent (kept per grid index: the geography rarely changes)."""
    index = grid_index(session)
    key = (id(index), code)
    if key not in _CENTRES:
        try:
            b = shapely.bounds(index.shapes[index.grids_in(code)])
            _CENTRES[key] = float((b[:, 0].min() + b[:, 2].max()) / 2), float((b[:, 1].min() + b[:, 3].max()) / 2)
        except NotFound:
            _CENTRES[key] = None
    return _CENTRES[key]


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[0] - b[0]) * 111.32 * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot(dx, (a[1] - b[1]) * 111.32)


def candidates(session: Session, department: str, case: Case) -> list[Unit]:
    """The units of ``department`` that can work a case at this place: the unit serving the place first,
    then the same department's units of the neighbouring townships (a township department: within the
    case's district) or districts (a district bureau), nearest first, within :data:`AID_KM`."""
    dept = taxonomy().department(department)
    home = unit_for(session, dept.key, case.township_code, case.district_code)
    stmt = select(Unit).where(Unit.department == dept.key, Unit.agency_id != home.agency_id)
    if dept.level is UnitLevel.TOWNSHIP:
        stmt = stmt.where(Unit.division_code.startswith(scope_prefix(case.district_code)))
    others = list(session.scalars(stmt.order_by(Unit.division_code)))
    near: list[tuple[float, str, Unit]] = []
    for unit in others:
        centre = _centre(session, unit.division_code)
        if centre is None:
            continue
        km = _km((case.lon, case.lat), centre)
        if km <= AID_KM:
            near.append((km, unit.division_code, unit))
    near.sort(key=lambda t: (t[0], t[1]))
    return [home] + [u for _, _, u in near]


@dataclass(frozen=True)
class Choice:
    unit: Unit
    #: Why this unit: ``home`` (the unit serving the place could take it), ``aid`` (it was full or off
    #: shift and a neighbour had a free crew on shift), ``queued`` (none could: it waits at home).
    why: str
    load: int


def choose(
    session: Session,
    department: str,
    case: Case,
    *,
    at: datetime | None = None,
    leaving: str | None = None,
) -> Choice:
    """The unit to send a case to (智能派单 with capacity): the place's own unit when it is on shift with a
    free crew, else the nearest neighbour of the same department that is, else the place's own unit
    (the case queues there and the clocks watch it). ``leaving`` is a unit the case is moving away from."""
    at = at or clock.now()
    units = candidates(session, department, case)
    load = loads(session, [u.agency_id for u in units])
    urgency = Urgency(case.urgency)
    for i, unit in enumerate(units):
        if unit.agency_id == leaving:
            continue
        if can_take(unit, urgency, at) and has_room(unit, load[unit.agency_id]):
            return Choice(unit, "home" if i == 0 else "aid", load[unit.agency_id])
    # every unit that could start is full: the shortest queue per crew among those on shift (the place's own
    # unit on a tie), so a surge in one district is shared with its neighbours rather than piled on one unit
    on = [u for u in units if u.agency_id != leaving and can_take(u, urgency, at)]
    if not on:
        return Choice(units[0], "queued", load[units[0].agency_id])
    best = min(on, key=lambda u: (queue(u, load[u.agency_id] + 1), units.index(u)))
    return Choice(best, "queued", load[best.agency_id])


def queue(unit: Unit, load: int) -> float:
    """Cases per crew: how long a unit's queue is (a unit that declared no crews has none)."""
    return 0.0 if unit.crews is None else load / unit.crews


def set_capacity(
    session: Session, principal: Principal, unit_agency_id: str, *, crews: int | None, shift: str | None = None
) -> Unit:
    """An operation centre declares a unit's crews and shift (its area's units only); audited."""
    policy.require(principal, "ops.unit.capacity")
    unit = session.get(Unit, unit_agency_id, with_for_update=True)
    if unit is None:
        raise NotFound(f"no disposal unit {unit_agency_id}")
    policy.require_in_scope(session, principal, "ops.case", unit.division_code)
    if crews is not None and not 1 <= crews <= 10_000:
        raise InvalidInput("crews is 1 to 10,000 (or none: not declared)")
    try:
        new_shift = Shift(shift or unit.shift)
    except ValueError as err:
        raise InvalidInput(f"shift is one of {[s.value for s in Shift]}") from err
    before = {"crews": unit.crews, "shift": unit.shift}
    unit.crews, unit.shift = crews, new_shift.value
    session.flush()
    audit.record(
        session,
        principal,
        "ops.unit.capacity",
        object_type="ops_unit",
        object_id=unit.agency_id,
        division_code=unit.division_code,
        detail={"from": before, "to": {"crews": crews, "shift": new_shift.value}},
    )
    return unit
