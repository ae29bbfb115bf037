"""Offers, not applications (issue 18): offered only to the eligible, taken up as a case approved
unattended through the services workflow, declined, withdrawn when eligibility ends, and objected
to with an officer's answer (both backends, on the services tests' seeded city)."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select

from onecity.benefits import offers
from onecity.benefits import service as benefits
from onecity.benefits.catalogue import BY_CODE
from onecity.benefits.models import BenefitObjection, BenefitOffer, ObjectionStatus, OfferStatus
from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.bus import consumers
from onecity.core.db import Database
from onecity.core.errors import Conflict, InvalidInput, NotFound
from onecity.core.identity import service as identity
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind
from onecity.hub.registries import life_events
from onecity.hub.registries.models import Person, PersonStatus
from onecity.hub.sharing.models import ResidentLink
from onecity.services.models import Case, CaseStatus
from tests.conftest import PASSWORD, SYSTEM
from tests.services.conftest import City

ALLOWANCE = "old_age_allowance"
XUHUI = "310104"


def resident_for(database: Database, person_id: int) -> Principal:
    """A citizen account linked to ``person_id`` (as a counter's identity check links one)."""
    with database.transaction() as s:
        user = identity.create_user(
            s,
            SYSTEM,
            username=f"r{secrets.token_hex(4)}",
            password=PASSWORD,
            kind=PrincipalKind.CITIZEN,
            roles=[],
            agency_code=None,
            division_code=None,
        )
        s.add(ResidentLink(user_id=user.id, person_id=person_id, linked_by=SYSTEM.ref))
        s.flush()
        return identity.principal_for_user(user)


def xuhui_people(database: Database, n: int = 300) -> list[int]:
    with database.transaction() as s:
        return list(
            s.scalars(select(Person.id).where(Person.division_code.startswith(XUHUI)).order_by(Person.id).limit(n))
        )


def offered(database: Database, code: str = ALLOWANCE) -> list[BenefitOffer]:
    """The policy's offers to a few hundred residents of Xuhui (the whole city's take a while)."""
    ids = xuhui_people(database)
    with database.transaction() as s:
        made = offers.refresh(s, SYSTEM, code, clock.today(), ids)
        rows = [s.get(BenefitOffer, i) for i in made.made]
        return [o for o in rows if o is not None]


def in_xuhui(database: Database, rows: list[BenefitOffer]) -> BenefitOffer:
    found = next((o for o in rows if o.division_code.startswith(XUHUI)), None)
    assert found is not None, "the seed has eligible residents in Xuhui"
    return found


def test_offers_go_to_the_eligible_only_and_each_subject_read_is_audited(city: City) -> None:
    rows = offered(city.db)
    assert rows, "the seeded city has residents of 65 and over with Shanghai hukou"
    on = clock.today()
    sample = xuhui_people(city.db)
    with city.db.transaction() as s:
        expected = benefits.granted_per_record(s, BY_CODE[ALLOWANCE], sample, on)
        got = {o.subject_id: o.amount for o in rows}
        assert got == expected, "offers are exactly whom the per-record DMN decision grants"
        reads = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "benefits.eligibility.read", AuditEntry.purpose == benefits.PURPOSE)
        )
        assert reads == len(rows)
        # a second run offers nobody twice
        again = offers.refresh(s, SYSTEM, ALLOWANCE, on, sample)
        assert again.made == [] and again.withdrawn == []
        assert all(o.reason and o.rules for o in rows)


def test_one_click_accept_is_a_case_approved_unattended_with_the_rule_as_its_reason(city: City) -> None:
    offer = in_xuhui(city.db, offered(city.db))
    resident = resident_for(city.db, offer.subject_id)
    other = city.resident  # linked to someone else
    with city.db.transaction() as s:
        assert [o.id for o in offers.my_offers(s, resident)] == [offer.id]
        with pytest.raises(NotFound):
            offers.accept(s, other, offer.id)  # another resident's offer is not theirs to take
    with city.db.transaction() as s:
        taken = offers.accept(s, resident, offer.id)
        assert taken.status == OfferStatus.ACCEPTED and taken.case_id
        case_id = taken.case_id
    consumers.deliver_pending(city.db)
    with city.db.transaction() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.APPROVED
        assert case.form["benefit_policy"] == ALLOWANCE and case.fields_prefilled == case.fields_total
        assert "approved unattended" in (case.decision_reason or "")
        assert offer.reason in (case.decision_reason or ""), "the table's rule is the approval's reason"
        purposes = set(
            s.scalars(
                select(AuditEntry.purpose).where(
                    AuditEntry.action == "hub.registry.person.read", AuditEntry.subject.is_not(None)
                )
            )
        )
        assert any(p and "proactive benefits" in p for p in purposes)
    with city.db.transaction() as s, pytest.raises(Conflict):
        offers.accept(s, resident, offer.id)


def test_a_declined_offer_is_not_made_again(city: City) -> None:
    offer = in_xuhui(city.db, offered(city.db))
    resident = resident_for(city.db, offer.subject_id)
    with city.db.transaction() as s:
        assert offers.decline(s, resident, offer.id, "not needed").status == OfferStatus.DECLINED
    with city.db.transaction() as s:
        assert offers.refresh(s, SYSTEM, ALLOWANCE, clock.today(), [offer.subject_id]).made == []
        with pytest.raises(Conflict):
            offers.accept(s, resident, offer.id)


def test_an_offer_is_withdrawn_when_its_subject_dies(city: City) -> None:
    offer = in_xuhui(city.db, offered(city.db))
    resident = resident_for(city.db, offer.subject_id)
    with city.db.transaction() as s:
        life_events.register_death(s, SYSTEM, offer.subject_id)
    with city.db.transaction() as s:
        done = offers.refresh(s, SYSTEM, ALLOWANCE, clock.today(), [offer.subject_id])
        assert done.withdrawn == [offer.id] and done.made == []
        row = s.get(BenefitOffer, offer.id)
        assert row is not None and row.status == OfferStatus.WITHDRAWN
        assert "deceased" in (row.close_reason or "")
        with pytest.raises(Conflict):
            offers.accept(s, resident, offer.id)


def test_an_objection_is_answered_by_an_officer_of_the_area(city: City) -> None:
    on = clock.today()
    with city.db.transaction() as s:
        # an eligible resident of Xuhui whom no scan has offered anything yet
        granted = benefits.scan(s, SYSTEM, ALLOWANCE, on).granted
        eligible = s.scalar(
            select(Person.id)
            .where(Person.id.in_(list(granted)), Person.division_code.startswith(XUHUI))
            .order_by(Person.id)
            .limit(1)
        )
        young = s.scalar(
            select(Person.id)
            .where(
                Person.division_code.startswith(XUHUI),
                Person.id.not_in(list(granted)),
                Person.status == PersonStatus.ALIVE,
            )
            .order_by(Person.id)
            .limit(1)
        )
    assert eligible is not None and young is not None
    missed, ineligible = resident_for(city.db, eligible), resident_for(city.db, young)
    with city.db.transaction() as s:
        with pytest.raises(InvalidInput):
            offers.object_to(s, missed, ALLOWANCE, "")
        first = offers.object_to(s, missed, ALLOWANCE, "I am 70 and have my hukou here")
        second = offers.object_to(s, ineligible, ALLOWANCE, "My neighbour gets it, why not me?")
        assert first.decision["eligible"] is True and second.decision["eligible"] is False
        with pytest.raises(Conflict):
            offers.object_to(s, missed, ALLOWANCE, "asking twice")
    with city.db.transaction() as s:
        queue = {o.id for o in offers.objections(s, city.approver)}
        assert {first.id, second.id} <= queue
    with city.db.transaction() as s:
        answered = offers.answer(s, city.approver, first.id, "upheld", "You were missed: the offer is yours")
        assert answered.status == ObjectionStatus.UPHELD and answered.offer_id
        offer = s.get(BenefitOffer, answered.offer_id)
        assert offer is not None and offer.status == OfferStatus.OFFERED and offer.objection_id == first.id
    with city.db.transaction() as s, pytest.raises(Conflict):
        # nothing is offered to the ineligible, even on an objection
        offers.answer(s, city.approver, second.id, "upheld", "Let us give it anyway")
    with city.db.transaction() as s:
        done = offers.answer(s, city.approver, second.id, "rejected", "The allowance starts at 65 with a hukou")
        assert done.status == ObjectionStatus.REJECTED
        assert [o.status for o in offers.my_objections(s, ineligible)] == [ObjectionStatus.REJECTED]
        assert s.scalar(select(func.count()).select_from(BenefitObjection)) == 2
