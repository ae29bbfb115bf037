"""Fixtures of the services tests: a small seeded city with the departments, staff, and a linked resident
who is the legal representative of a firm holding a business licence."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from onecity.core.db import Database
from onecity.core.divisions import Division
from onecity.core.identity import service as identity
from onecity.core.identity.models import Agency
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.credentials import keys
from onecity.hub.registries.models import Certificate, CertificateStatus, LegalPerson, Person
from onecity.hub.registries.seed import seed
from onecity.hub.sharing.models import ResidentLink
from onecity.services import service
from tests.conftest import PASSWORD, SYSTEM, _truncate_pg
from tests.hub.registries.city import build_small_city, small_city_codes

XUHUI = "310104000000"
HUANGPU = "310101000000"
SECRET = "services-tests-" + "x" * 40


@pytest.fixture
def sqlite_city(sqlite_template: Path, tmp_path: Path) -> Iterator[City]:
    """The city on the embedded default only (for the browser flow, which needs no second backend)."""
    path = tmp_path / "browser.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        yield make_city(db)
    finally:
        db.dispose()


@dataclass
class City:
    db: Database
    firm: LegalPerson  # holds a valid business licence, no food business licence, in Xuhui
    rep: Person  # its legal representative
    resident: Principal  # the rep's citizen account, linked to their person record
    clerk: Principal
    reviewer: Principal
    approver: Principal
    fire_reviewer: Principal
    huangpu_clerk: Principal


def staff(session: object, username: str, agency: str, division: str, *roles: Role) -> Principal:
    user = identity.create_user(session, SYSTEM, username=username, password=PASSWORD,  # type: ignore[arg-type]
                                kind=PrincipalKind.STAFF, roles=list(roles), agency_code=agency,
                                division_code=division)
    return identity.principal_for_user(user)


def make_city(db: Database) -> City:
    """Seed a small city with departments, staff and a linked resident who represents a licensed firm."""
    keys.use_secret(db, SECRET)
    with db.transaction() as s:
        build_small_city(s)
    seed(db, 0.0002, 3, SYSTEM, out=None)
    with db.transaction() as s:
        service.install_departments(s, SYSTEM)
        xh_samr = identity.create_agency(s, SYSTEM, code="xh-samr", name="徐汇区市场监督管理局",
                                         name_en="Xuhui AMR", division_code=XUHUI, parent_code="sh-samr")
        assert s.scalar(select(Agency.id).where(Agency.code == "sh-samr"))
        firm = s.scalars(
            select(LegalPerson).join(Certificate, Certificate.holder_id == LegalPerson.id)
            .where(LegalPerson.division_code.startswith("310104"), Certificate.type_code == "business_licence",
                   Certificate.holder_kind == "legal_person", Certificate.status == CertificateStatus.VALID)
            .order_by(LegalPerson.id)).first()
        assert firm is not None, "the seed gives Xuhui firms with business licences"
        # the firm must not already hold a food business licence for the test to mean something
        s.execute(delete(Certificate).where(Certificate.holder_kind == "legal_person",
                                            Certificate.holder_id == firm.id,
                                            Certificate.type_code == "food_business_licence"))
        rep = s.get(Person, firm.legal_rep_id)
        assert rep is not None
        user = identity.create_user(s, SYSTEM, username="resident", password=PASSWORD, kind=PrincipalKind.CITIZEN,
                                    roles=[], agency_code=None, division_code=None)
        s.add(ResidentLink(user_id=user.id, person_id=rep.id, linked_by=SYSTEM.ref))
        resident = identity.principal_for_user(user)
        clerk = staff(s, "clerk", xh_samr.code, XUHUI, Role.COUNTER_CLERK)
        reviewer = staff(s, "reviewer", "xh-samr", XUHUI, Role.REVIEWER)
        approver = staff(s, "approver", "xh-samr", XUHUI, Role.APPROVER)
        fire = staff(s, "fire", "sh-fire", XUHUI, Role.REVIEWER)
        hp_clerk = staff(s, "hpclerk", "sh-samr", HUANGPU, Role.COUNTER_CLERK)
    return City(db, firm, rep, resident, clerk, reviewer, approver, fire, hp_clerk)


@pytest.fixture
def city(db: Database, backend: str) -> Iterator[City]:
    yield make_city(db)
    if backend == "postgresql":
        _truncate_pg(db)
        with db.transaction() as s:
            s.execute(delete(Division).where(Division.code.in_(small_city_codes())))
