"""A small demo city for the words crawler and the accessibility walk.

The demo's own accounts (``onecity.demo``: every persona a visitor signs in as) on the small
test geography seeded at 1:5000, with a little of each part's work in it, made through the
service functions as those personas: the resident's food-licence application submitted and a
draft beside it, a hotline report dispatched to Tianpinglu, the default sensing rules. A
simulated hour would make more but takes minutes; these rows give every page shape a row.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select

from onecity import demo
from onecity.core import policy
from onecity.core.db import Database
from onecity.core.divisions import Division
from onecity.core.identity.models import User
from onecity.core.identity.principal import Principal
from onecity.core.identity.service import principal_for_user
from onecity.hub.catalogue.service import install_catalogue
from onecity.hub.registries import service as registries  # noqa: F401 (registers the seed's policy action)
from onecity.hub.registries.models import LegalPerson
from onecity.hub.sharing.models import ResidentLink
from onecity.synth.registries.seed import seed
from tests.conftest import SYSTEM
from tests.hub.registries.city import build_small_city, small_city_codes
from tests.services.conftest import PDF

FOOD = "310000-01-00040-001"  # 食品经营许可
TIANPING_POINT = (121.447664, 31.217119)


def _who(db: Database, username: str) -> Principal:
    with db.sessions() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None, username
        return principal_for_user(user)


def _services(db: Database) -> None:
    from onecity.services import service

    resident = _who(db, demo.RESIDENT)
    with db.sessions() as s:
        rep = s.scalar(select(ResidentLink.person_id).where(ResidentLink.user_id == resident.id))
        uscc = s.scalar(select(LegalPerson.uscc).where(LegalPerson.legal_rep_id == rep).order_by(LegalPerson.id))
    assert uscc is not None, "the demo resident represents a firm"
    with db.transaction() as s:
        case = service.start_case(s, resident, FOOD, uscc=uscc)
        for m in service.missing_materials(case):
            service.attach_document(
                s,
                resident,
                case.id,
                m["code"],
                filename=f"{m['code']}.pdf",
                content_type="application/pdf",
                content=PDF,
            )
        service.update_form(
            s, resident, case.id, {"business_items": "热食类食品制售", "floor_area_m2": 80, "seats": 30}
        )
        service.submit(s, resident, case.id)
    with db.transaction() as s:
        service.start_case(s, resident, FOOD, uscc=uscc)  # a draft left for later


def _ops(db: Database) -> None:
    from onecity.ops import service

    hotline = _who(db, "hotline")
    lon, lat = TIANPING_POINT
    with db.transaction() as s:
        service.intake(
            s,
            hotline,
            source="hotline",
            subtype_code="C0120",
            description="小区门口垃圾堆放两天无人清运",
            lon=lon,
            lat=lat,
            reporter_name="张女士",
            contact="13800000000",
        )


def _sensing(db: Database) -> None:
    from onecity.sensing import service
    from onecity.synth.actors.sensing import DEFAULT_RULES, SENSORS

    with db.transaction() as s:
        for spec in DEFAULT_RULES:
            service.create_rule(s, SENSORS, **spec)


def build(template: Path, path: Path) -> dict[str, str]:
    """Copy the migrated ``template`` to ``path`` and make the demo city in it; username → password."""
    shutil.copy(template, path)
    db = Database(f"sqlite:///{path}")
    try:
        with db.transaction() as s:
            build_small_city(s)
            # the small city's places are named "Unit <code>" in English: give them names a reader reads
            for division in s.scalars(select(Division).where(Division.code.in_(small_city_codes()))):
                division.name_en = f"Community {division.code[-3:]}"
        with db.transaction() as s:
            install_catalogue(s, SYSTEM)
        assert policy.may(SYSTEM, "hub.registry.seed")
        seed(db, 0.0002, 3, SYSTEM, out=None)
        creds = demo.prepare(db, path.parent)
        demo.link_resident(db)
        _services(db)
        _ops(db)
        _sensing(db)
        return creds
    finally:
        db.dispose()
