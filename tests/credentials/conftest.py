"""Fixtures: a database with the certificate types, one resident and one firm, and certificates
issued through the registry's service function, with the credentials' sealing secret bound."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.credentials import keys
from onecity.hub.registries import service as registry
from onecity.hub.registries.certtypes import CERT_TYPES
from onecity.hub.registries.identifiers import make_resident_id, make_uscc
from onecity.hub.registries.models import Certificate, CertificateType, HolderKind, LegalPerson, Person
from tests.conftest import TIANPINGLU, XUHUI

HUANGPU = "310101000000"
PERSON_ID = 7_000_001
FIRM_ID = 7_100_001


def staff(division: str, *roles: Role, name: str = "officer") -> Principal:
    return Principal(
        kind=PrincipalKind.STAFF,
        id=f"{name}-{division}",
        name=name,
        roles=frozenset(roles),
        agency_id=None,
        division_code=division,
    )


APPROVER = staff(XUHUI, Role.APPROVER, name="approver")


@dataclass(frozen=True)
class Registry:
    db: Database
    person: Person
    firm: LegalPerson


def populate(db: Database) -> Registry:
    """Certificate types, a resident of Tianping Road (Xuhui) and a restaurant firm she represents."""
    with db.transaction() as s:
        for t in CERT_TYPES:
            s.add(
                CertificateType(
                    code=t.code.value,
                    name=t.name,
                    name_en=t.name_en,
                    holder_kind=t.holder_kind,
                    issuer_department=t.issuer_department,
                    validity_years=t.validity_years,
                    metadata_fields=t.metadata_fields(),
                )
            )
        person = Person(
            id=PERSON_ID,
            id_number=make_resident_id("310104", date(1988, 3, 14), 27),
            name="王小梅",
            sex="F",
            birth_date=date(1988, 3, 14),
            hukou_region="310104",
            division_code=TIANPINGLU,
            address="天平路 1 号",
            phone=None,
        )
        s.add(person)
        s.flush()
        firm = LegalPerson(
            id=FIRM_ID,
            uscc=make_uscc("92", "310104", "MA1K2L3M"),
            name="上海小梅餐饮店",
            kind="92",
            industry="H",
            legal_rep_id=PERSON_ID,
            division_code=TIANPINGLU,
            address="天平路 2 号",
            established_on=date(2024, 5, 1),
            registered_capital=10.0,
        )
        s.add(firm)
    return Registry(db, person, firm)


def certificate(
    db: Database,
    serial: int,
    type_code: str = "food_business_licence",
    *,
    holder: str = "firm",
    issued_on: date = date(2026, 3, 2),
    valid_until: date | None = None,
) -> Certificate:
    """A certificate put in the registry through its service function, as the services part does."""
    kind = HolderKind.LEGAL_PERSON if holder == "firm" else HolderKind.PERSON
    holder_id = FIRM_ID if holder == "firm" else PERSON_ID
    with db.transaction() as s:
        return registry.issue_certificate(
            s,
            APPROVER,
            type_code=type_code,
            holder_kind=kind,
            holder_id=holder_id,
            number=f"JY3310104{serial:08d}",
            issuer="徐汇区市场监督管理局",
            issued_on=issued_on,
            valid_until=valid_until,
            data={"business_items": "热食类食品制售", "premises": "天平路 2 号"},
        )


@pytest.fixture
def registry_db(db: Database, settings: Settings) -> Registry:
    keys.use_secret(db, settings.secret_key)
    return populate(db)


@pytest.fixture
def make_certificate(registry_db: Registry) -> Callable[..., Certificate]:
    serial = iter(range(1, 10_000))

    def _make(type_code: str = "food_business_licence", **kwargs: Any) -> Certificate:
        return certificate(registry_db.db, next(serial), type_code, **kwargs)

    return _make
