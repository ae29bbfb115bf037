"""A small city for the sharing tests: the built-in catalogue, agencies, stewards and residents.

Persons are written through the registry model (the registry has no single-person writer
yet; the generator loads in bulk), with real GB 11643 ID numbers. The resident ``zhang.san``
is linked to person 1 through :func:`onecity.hub.sharing.service.link_resident`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from onecity.core.db import Database
from onecity.core.divisions import Division, DivisionLevel
from onecity.core.identity.principal import system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.catalogue.service import install_catalogue
from onecity.hub.registries.models import Person
from onecity.hub.sharing.models import ResidentLink
from onecity.hub.sharing.service import link_resident

XUHUI, TIANPINGLU, HUANGPU, WAITAN = "310104000000", "310104003000", "310101000000", "310101013000"
#: A community in Tianping Road subdistrict, added by the fixture and removed after it: PostgreSQL keeps
#: the divisions table between tests, and other tests build their own communities.
YONGJIA = "310104003098"
PURPOSE = "minimum living allowance review"
SYSTEM = system_principal("sharing-tests")
ONE_YEAR = (datetime.now(UTC) + timedelta(days=365)).replace(microsecond=0)


def id_number(region: str, birth: date, seq: int) -> str:
    """A GB 11643 ID number: region, birth date, 3-digit sequence (odd: male), check character."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def person(pid: int, name: str, division: str, birth: date, seq: int, phone: str) -> Person:
    return Person(
        id=pid,
        id_number=id_number("310104", birth, seq),
        name=name,
        sex="M" if seq % 2 else "F",
        birth_date=birth,
        hukou_region="310104",
        division_code=division,
        address=f"上海市徐汇区永嘉路{pid}号{pid}01室",
        phone=phone,
        status="alive",
    )


@dataclass
class Hub:
    db: Database
    client: TestClient
    login: Callable[[str], dict[str, str]]
    persons: list[Person]
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def signed_in(self, username: str) -> dict[str, str]:
        """Bearer headers, signing in once per user (password hashing is slow on purpose)."""
        if username not in self.tokens:
            self.tokens[username] = self.login(username)
        return dict(self.tokens[username])

    def headers(self, username: str, purpose: str | None = PURPOSE) -> dict[str, str]:
        h = self.signed_in(username)
        if purpose is not None:
            h["X-OneCity-Purpose"] = quote(purpose)
        return h

    def request(self, username: str = "mca.steward", **overrides: Any) -> dict[str, Any]:
        body = {
            "dataset_code": "hub.person",
            "fields": ["id", "id_number", "name", "phone", "address", "birth_date"],
            "unmasked_fields": ["name"],
            "purpose": PURPOSE,
            "legal_basis": "《社会救助暂行办法》第十一条 (Social Assistance Interim Measures, art. 11)",
            "scope_division_code": XUHUI,
            "valid_until": ONE_YEAR.isoformat(),
            **overrides,
        }
        r = self.client.post("/api/v1/sharing/requests", json=body, headers=self.signed_in(username))
        assert r.status_code == 201, r.text
        return dict(r.json())

    def approve(self, request_id: str, username: str = "psb.steward.xh") -> dict[str, Any]:
        r = self.client.post(
            f"/api/v1/sharing/requests/{request_id}/approve",
            json={"reason": "purpose is lawful"},
            headers=self.signed_in(username),
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def read(
        self, username: str = "mca.reviewer", purpose: str | None = PURPOSE, dataset: str = "hub.person", **params: Any
    ) -> Any:
        return self.client.get(
            f"/api/v1/sharing/datasets/{dataset}/records", params=params, headers=self.headers(username, purpose)
        )


@pytest.fixture
def hub(
    db: Database,
    client: TestClient,
    make_agency: Callable[..., Any],
    make_user: Callable[..., Any],
    login: Callable[[str], dict[str, str]],
) -> Iterator[Hub]:
    with db.transaction() as session:
        install_catalogue(session)
        session.add(
            Division(
                code=YONGJIA,
                name="永嘉居委会",
                name_en="Yongjia Community",
                level=DivisionLevel.COMMUNITY,
                kind="community",
                parent_code=TIANPINGLU,
            )
        )
    make_agency("xh-mca", XUHUI, "徐汇区民政局")
    make_agency("hp-mca", HUANGPU, "黄浦区民政局")
    S, R = Role.DATA_STEWARD, Role.REVIEWER
    make_user("psb.steward.xh", S, agency_code="sh-psb", division_code=XUHUI)
    make_user("psb.steward.hp", S, agency_code="sh-psb", division_code=HUANGPU)
    make_user("psb.officer.xh", Role.INSPECTOR, agency_code="sh-psb", division_code=XUHUI)
    make_user("mca.steward", S, agency_code="xh-mca", division_code=XUHUI)
    make_user("mca.reviewer", R, agency_code="xh-mca", division_code=TIANPINGLU)
    make_user("hp.steward", S, agency_code="hp-mca", division_code=HUANGPU)
    make_user("hp.reviewer", R, agency_code="hp-mca", division_code=HUANGPU)
    make_user("zhang.san", kind=PrincipalKind.CITIZEN, division_code=None)
    make_user("li.si", kind=PrincipalKind.CITIZEN, division_code=None)
    people = [
        person(1, "张三", YONGJIA, date(1988, 3, 7), 123, "13812345678"),
        person(2, "李四", YONGJIA, date(1975, 11, 30), 42, "13900001111"),
        person(3, "王小明", TIANPINGLU, date(2001, 1, 15), 77, "13700002222"),
        person(4, "赵六", WAITAN, date(1960, 6, 1), 8, "13600003333"),  # Huangpu: outside Xuhui grants
    ]
    with db.transaction() as session:
        session.add_all(people)
        session.flush()
        link_resident(session, SYSTEM, username="zhang.san", id_number=people[0].id_number)
    with db.sessions() as session:
        persons = [session.get_one(Person, p.id) for p in people]
        for p in persons:
            session.expunge(p)
    yield Hub(db, client, login, persons)
    with db.transaction() as session:
        session.execute(delete(ResidentLink))
        session.execute(delete(Person).where(Person.division_code == YONGJIA))
        session.execute(delete(Division).where(Division.code == YONGJIA))
