"""Life events through the registries' service functions, and the simulation that drives them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from onecity.core import audit, clock
from onecity.core.db import Database
from onecity.core.errors import Conflict, InvalidInput, PermissionDenied
from onecity.core.events import OutboxMessage
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.registries import life_events
from onecity.hub.registries.identifiers import validate_resident_id
from onecity.hub.registries.models import Person, PersonStatus
from onecity.sim import cli as sim_cli
from tests.conftest import SYSTEM

EVENT_OF = {
    "births": "hub.person.born",
    "deaths": "hub.person.died",
    "moves": "hub.person.moved",
    "firms_registered": "hub.legal_person.registered",
    "firms_closed": "hub.legal_person.closed",
}


def test_simulated_days_are_reproducible_published_and_audited(
    scratch_db: Callable[[], AbstractContextManager[str]],
) -> None:
    reports = []
    for _ in range(2):
        with scratch_db() as url:
            db = Database(url)
            report = sim_cli.run(
                db, scale=0.001, seed=7, hours=24 * 5, speed=None, actor_modules=["onecity.synth.actors.registries"]
            )
            with db.sessions() as session:
                published = dict(
                    session.execute(
                        select(OutboxMessage.event_type, func.count()).group_by(OutboxMessage.event_type)
                    ).all()
                )
                assert audit.verify(session).ok
                registered = session.scalar(select(func.count()).select_from(Person))
            db.dispose()
            events = report["city"]["life_events"]
            for kind, event_type in EVENT_OF.items():
                assert published.get(event_type, 0) == events[kind], kind
            assert report["city"]["persons"] == registered
            reports.append(report)
    assert reports[0] == reports[1]
    assert sum(reports[0]["city"]["life_events"][k] for k in EVENT_OF) >= 5
    assert report["simulation"]["hours"] == 120


def test_birth_gets_a_valid_unique_id_number_in_its_district(
    scratch_db: Callable[[], AbstractContextManager[str]],
) -> None:
    with scratch_db() as url:
        db = Database(url)
        try:
            sim_cli.ensure_city(db, 0.001, 1)
            with db.sessions() as session:
                parent = session.scalars(select(Person).where(Person.status == PersonStatus.ALIVE).limit(1)).one()
            babies = []
            for male in (True, False, True):
                with db.transaction() as session:
                    babies.append(
                        life_events.register_birth(
                            session,
                            SYSTEM,
                            name="王小明",
                            male=male,
                            birth_date=date(2026, 6, 1),
                            division_code=parent.division_code,
                            address=parent.address,
                        )
                    )
            numbers = [b.id_number for b in babies]
            assert len(set(numbers)) == 3
            for baby, male in zip(babies, (True, False, True), strict=True):
                parsed = validate_resident_id(baby.id_number)
                assert parsed.region == parent.division_code[:6]
                assert parsed.birth_date == date(2026, 6, 1)
                assert parsed.sex == ("M" if male else "F")
            # 01:00 in Shanghai is still yesterday in UTC: a birth today is not "in the future"
            with clock.frozen(datetime(2026, 6, 2, 1, 0, tzinfo=clock.SHANGHAI)), db.transaction() as session:
                early = life_events.register_birth(
                    session,
                    SYSTEM,
                    name="林晨",
                    male=False,
                    birth_date=date(2026, 6, 2),
                    division_code=parent.division_code,
                    address=parent.address,
                )
            assert validate_resident_id(early.id_number).birth_date == date(2026, 6, 2)
        finally:
            db.dispose()  # before the scratch database is dropped: no pooled connection left for the collector
        with db.transaction() as session, pytest.raises(InvalidInput, match="community or village"):
            life_events.register_birth(
                session,
                SYSTEM,
                name="李四",
                male=True,
                birth_date=date(2026, 6, 1),
                division_code=parent.division_code[:9] + "000",
                address="x",
            )
        # the wrong role and the wrong district are refused
        elsewhere = "310104000000" if parent.division_code.startswith("310101") else "310101000000"
        clerk_elsewhere = Principal(
            kind=PrincipalKind.STAFF,
            id="u1",
            name="clerk",
            roles=frozenset({Role.COUNTER_CLERK}),
            division_code=elsewhere,
        )
        inspector_here = Principal(
            kind=PrincipalKind.STAFF,
            id="u2",
            name="inspector",
            roles=frozenset({Role.INSPECTOR}),
            division_code=parent.division_code,
        )
        for who in (clerk_elsewhere, inspector_here):
            with db.transaction() as session, pytest.raises(PermissionDenied):
                life_events.register_death(session, who, babies[1].id)
        with db.transaction() as session:
            life_events.register_death(session, SYSTEM, babies[0].id)
        with db.transaction() as session, pytest.raises(Conflict, match="deceased"):
            life_events.register_death(session, SYSTEM, babies[0].id)
        db.dispose()
