"""Disposal units: each department's unit in each township (street-level squads) or district (bureaus).

Dispatch sends a case to the responsible department's unit for the case's township (for a
township-level department such as the enforcement squad) or district (for a district
bureau such as Water Affairs). Each unit is an agency of its own, so its staff sign in
under it and see exactly the cases sent to it. :func:`install_units` creates them, and is
idempotent like the catalogue's install: units that exist are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core.divisions import Division, DivisionLevel, scope_prefix
from onecity.core.errors import NotFound
from onecity.core.identity import service as identity
from onecity.core.identity.models import Agency
from onecity.core.identity.principal import Principal, system_principal
from onecity.ops.models import Unit
from onecity.ops.taxonomy import UnitLevel, taxonomy


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
