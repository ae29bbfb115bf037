"""A small operating city for the ops tests: disposal units in Xuhui and Huangpu, and their staff.

The databases hold the generated grids of Xuhui and Huangpu (:mod:`tests.grids`), which
operations locates reports with. Points are real places inside them: ``TIANPING_POINT`` lies in Tianping Road
subdistrict (Xuhui), ``HUNANLU_POINT`` in Hunan Road subdistrict (Xuhui), ``WAITAN_POINT`` on
the Bund (Huangpu). Units are installed only for these two districts (the whole city's 800
units would only slow every test down).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Concatenate, ParamSpec, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core.db import Database
from onecity.core.identity.models import Agency, User
from onecity.core.identity.principal import Principal, system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.core.identity.service import principal_for_user
from onecity.ops.units import install_units, unit_agency_code
from tests.grids import grids_db, grids_sqlite_template, pg_grids_url  # noqa: F401  (databases holding grids)

XUHUI, TIANPINGLU, HUNANLU = "310104000000", "310104003000", "310104004000"
HUANGPU, WAITAN, CITY = "310101000000", "310101013000", "310000000000"
TIANPING_POINT = (121.447664, 31.217119)
HUNANLU_POINT = (121.434938, 31.215561)
WAITAN_POINT = (121.484634, 31.237359)
SYSTEM = system_principal("ops-tests")

OPR, INS, DSP = Role.OPERATOR, Role.INSPECTOR, Role.DISPATCHER

P = ParamSpec("P")
R = TypeVar("R")


@pytest.fixture
def db(grids_db: Database) -> Database:  # noqa: F811  (the fixture, not the import)
    """Databases holding Xuhui's and Huangpu's grids (:mod:`tests.grids`): points are located in them."""
    return grids_db


@dataclass
class Ops:
    db: Database
    principals: dict[str, Principal] = field(default_factory=dict)

    def p(self, username: str) -> Principal:
        return self.principals[username]

    def run(
        self,
        fn: Callable[Concatenate[Session, Principal, P], R],
        username: str | Principal,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Call a service function in its own transaction as ``username``."""
        principal = username if isinstance(username, Principal) else self.p(username)
        with self.db.transaction() as session:
            return fn(session, principal, *args, **kwargs)

    def hotline_rubbish(self, description: str = "路口垃圾") -> str:
        """The case id of a 12345 call about rubbish at the Tianpinglu point (E0101: to the sanitation office)."""
        from onecity.ops import service

        return str(
            self.run(
                service.intake,
                "hotline",
                source="hotline",
                subtype_code="E0101",
                lon=TIANPING_POINT[0],
                lat=TIANPING_POINT[1],
                description=description,
            ).case.id
        )


STAFF = [
    ("tp.operator", (OPR,), TIANPINGLU, None),
    ("tp.inspector", (INS,), TIANPINGLU, None),
    ("hn.operator", (OPR,), HUNANLU, None),
    ("xh.operator", (OPR, DSP), XUHUI, None),
    ("hp.operator", (OPR,), HUANGPU, None),
    ("city.operator", (OPR, DSP), CITY, None),
    ("hotline", (DSP,), CITY, None),
    ("tp.sanitation", (OPR,), TIANPINGLU, unit_agency_code("sanitation", TIANPINGLU)),
    ("tp.enforcement", (OPR,), TIANPINGLU, unit_agency_code("enforcement", TIANPINGLU)),
    ("xh.water", (OPR,), XUHUI, unit_agency_code("water", XUHUI)),
]


@pytest.fixture
def ops(db: Database) -> Ops:
    """Units installed and staff principals (service tests call the functions as these principals
    directly; the API and page tests sign real users in, see :func:`staff_users`)."""
    with db.transaction() as session:
        install_units(session, SYSTEM, within=XUHUI)
        install_units(session, SYSTEM, within=HUANGPU)
        agencies = {a.code: a for a in session.scalars(select(Agency))}
    o = Ops(db)
    for username, roles, division, agency in STAFF:
        a = agencies.get(agency or "")
        o.principals[username] = Principal(
            kind=PrincipalKind.STAFF,
            id=f"test-{username}",
            name=username,
            roles=frozenset(roles),
            agency_id=a.id if a else None,
            agency_code=a.code if a else None,
            division_code=division,
        )
    return o


@pytest.fixture
def staff_users(ops: Ops, make_user: Callable[..., User]) -> Callable[..., Ops]:
    """``staff_users(*names)``: those staff as real users who can sign in (slower: Argon2 per password)."""

    def make(*names: str) -> Ops:
        for username, roles, division, agency in STAFF:
            if username in names:
                user = make_user(username, *roles, division_code=division, agency_code=agency)
                with ops.db.sessions() as session:
                    ops.principals[username] = principal_for_user(session.get_one(User, user.id))
        return ops

    return make


@pytest.fixture
def open311_key(db: Database) -> str:
    from onecity.core.identity import service

    with db.transaction() as session:
        _key, secret = service.create_api_key(session, SYSTEM, name="shanghai-311-app", scopes=["open311"])
    return secret


def png() -> bytes:
    """A real 1×1 PNG (what a phone's photo would be, smaller)."""
    import base64

    return base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )


__all__ = ["Ops", "TestClient", "png"]
