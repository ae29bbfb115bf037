"""Offers follow life events through the outbox, for just the people and firms affected (both backends)."""

from __future__ import annotations

from sqlalchemy import func, select

from onecity.benefits import offers
from onecity.benefits import service as benefits
from onecity.benefits.catalogue import POLICIES
from onecity.benefits.facts import Subject, latest_born
from onecity.benefits.models import BenefitOffer, OfferStatus
from onecity.core import clock
from onecity.core.bus import consumers
from onecity.core.db import Database
from onecity.core.divisions import Division, DivisionLevel
from onecity.hub.registries import life_events
from onecity.hub.registries.models import LegalPerson, Person, PersonStatus
from tests.conftest import SYSTEM
from tests.services.conftest import City


def offers_of(database: Database, kind: Subject, subject_id: int) -> dict[str, str]:
    with database.transaction() as s:
        rows = s.scalars(
            select(BenefitOffer).where(BenefitOffer.subject_kind == kind.value, BenefitOffer.subject_id == subject_id)
        )
        return {o.policy_code: str(o.status) for o in rows}


def eligible_for(database: Database, kind: Subject, subject_id: int) -> set[str]:
    on = clock.today()
    with database.transaction() as s:
        return {p.code for p in POLICIES if p.subject is kind and benefits.granted_per_record(s, p, [subject_id], on)}


def test_a_birth_a_move_and_a_death_make_and_withdraw_offers_for_that_person_only(city: City) -> None:
    with city.db.transaction() as s:
        before = s.execute(select(func.count()).select_from(BenefitOffer)).scalar_one()
        parent = s.scalars(
            select(Person)
            .where(Person.division_code.startswith("310104"), Person.hukou_region.startswith("31"))
            .order_by(Person.id)
        ).first()
        assert parent is not None
        baby = life_events.register_birth(
            s,
            SYSTEM,
            name="林小满",
            male=False,
            birth_date=clock.today(),
            division_code=parent.division_code,
            address=parent.address,
            hukou_region=parent.hukou_region,
        )
        baby_id = baby.id
    consumers.deliver_pending(city.db)
    got = offers_of(city.db, Subject.PERSON, baby_id)
    assert "childcare_subsidy" in got and set(got) == eligible_for(city.db, Subject.PERSON, baby_id)
    with city.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(BenefitOffer)) == before + len(got), "nobody else"
        # a Shanghai resident of 60 or over moves to Chongming: the rural supplement is theirs
        senior = s.scalars(
            select(Person)
            .where(
                Person.division_code.startswith("310104"),
                Person.hukou_region.startswith("31"),
                Person.birth_date <= latest_born(60, clock.today()),
                Person.status == PersonStatus.ALIVE,
            )
            .order_by(Person.id)
        ).first()
        chongming = s.scalars(
            select(Division.code)
            .where(Division.code.startswith("310151"), Division.level == DivisionLevel.COMMUNITY)
            .order_by(Division.code)
        ).first()
        assert senior is not None and chongming is not None
        senior_id, home = senior.id, senior.division_code
        life_events.register_move(s, SYSTEM, senior_id, to_division=chongming, address="崇明区城桥镇1号")
    consumers.deliver_pending(city.db)
    assert offers_of(city.db, Subject.PERSON, senior_id).get("rural_elderly_supplement") == OfferStatus.OFFERED
    with city.db.transaction() as s:
        life_events.register_move(s, SYSTEM, senior_id, to_division=home, address="徐汇区天平路1号")
    consumers.deliver_pending(city.db)
    assert offers_of(city.db, Subject.PERSON, senior_id)["rural_elderly_supplement"] == OfferStatus.WITHDRAWN
    with city.db.transaction() as s:
        life_events.register_death(s, SYSTEM, baby_id)
    consumers.deliver_pending(city.db)
    after = offers_of(city.db, Subject.PERSON, baby_id)
    assert set(after) == set(got) and set(after.values()) == {OfferStatus.WITHDRAWN}
    with city.db.transaction() as s:
        reasons = set(
            s.scalars(
                select(BenefitOffer.close_reason).where(
                    BenefitOffer.subject_id == baby_id, BenefitOffer.subject_kind == "person"
                )
            )
        )
        assert all("deceased" in (r or "") for r in reasons)


def test_a_new_firm_is_offered_the_start_up_subsidy_and_a_birthday_the_allowance(city: City) -> None:
    with city.db.transaction() as s:
        firm = life_events.register_firm(
            s,
            SYSTEM,
            name="上海满园信息技术有限公司",
            kind="91",
            org_body="MA1B2C3D",
            industry="I",
            legal_rep_id=city.rep.id,
            division_code=city.rep.division_code,
            address="徐汇区天平路2号",
            registered_capital=50.0,
        )
        firm_id = firm.id
    consumers.deliver_pending(city.db)
    got = offers_of(city.db, Subject.FIRM, firm_id)
    assert "startup_social_insurance" in got and set(got) == eligible_for(city.db, Subject.FIRM, firm_id)
    with city.db.transaction() as s:
        firm_row = s.get(LegalPerson, firm_id)
        assert firm_row is not None and firm_row.legal_rep_id == city.rep.id
        # someone with a Shanghai hukou turns 65 today (their birth date set so for the test)
        person = s.scalars(
            select(Person)
            .where(
                Person.hukou_region.startswith("31"),
                Person.status == PersonStatus.ALIVE,
                Person.birth_date > latest_born(60, clock.today()),
            )
            .order_by(Person.id)
        ).first()
        assert person is not None
        person.birth_date = latest_born(65, clock.today())
        pid = person.id
    with city.db.transaction() as s:
        assert pid in offers.turned_today(s, Subject.PERSON, clock.today())
        offers.birthdays(s, offers.AGENT, clock.today())
    assert offers_of(city.db, Subject.PERSON, pid).get("old_age_allowance") == OfferStatus.OFFERED
    with city.db.transaction() as s:
        again = offers.birthdays(s, offers.AGENT, clock.today())
        assert not any(r.made or r.withdrawn for r in again), "a second run changes nothing"
