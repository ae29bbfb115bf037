"""Prefill from the other base registries: social insurance, the bank account benefits are paid into,
the provident fund, the household register and electric bicycles' sale records.

Each read goes through the registries' one door with the applicant's basis (themselves online, a
proven relation for a proxy) and is audited as a read of their record (``person_facts``); a proxy
without proof reads nothing.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, func, select

from onecity.core.audit import AuditEntry
from onecity.core.errors import PermissionDenied
from onecity.hub.registries import service as registries
from onecity.hub.registries.models import HolderKind, Person, PersonFacts, Vehicle
from onecity.hub.registries.relations import ReadBasis
from onecity.services import catalogue, service
from tests.services.conftest import City

UNEMPLOYMENT = "310000-02-00082-001"
E_BIKE = "310000-07-00064-001"
FUND_WITHDRAWAL = "310000-02-00101-001"
FUND_REGISTRATION = "310000-20-00102-001"


def _facts(city: City, *, until: date | None) -> None:
    with city.db.transaction() as s:
        s.execute(delete(Vehicle).where(Vehicle.holder_kind == HolderKind.PERSON, Vehicle.holder_id == city.rep.id))
        s.execute(delete(PersonFacts).where(PersonFacts.person_id == city.rep.id))
        s.add(
            PersonFacts(
                person_id=city.rep.id,
                bank_account="6217000011112222333",
                employer_id=city.firm.id,
                employed_until=until,
                provident_fund_balance=48_210.5,
                household_size=3,
            )
        )
        # an older bicycle already registered, and the one bought last week, not yet
        for vid, frame, bought, registered in (
            (9_000_001, "EBTEST0000901", date(2021, 3, 1), date(2021, 3, 9)),
            (9_000_002, "EBTEST0000902", date(2026, 5, 20), None),
        ):
            s.add(
                Vehicle(
                    id=vid,
                    holder_kind=HolderKind.PERSON,
                    holder_id=city.rep.id,
                    kind="e_bike",
                    brand="雅迪",
                    frame_number=frame,
                    motor_number=f"M{vid}",
                    purchased_on=bought,
                    registered_on=registered,
                )
            )


def _fact_reads(city: City, person_id: int) -> list[AuditEntry]:
    with city.db.sessions() as s:
        return list(
            s.scalars(
                select(AuditEntry).where(
                    AuditEntry.subject == f"person:{person_id}", AuditEntry.object_type == "person_facts"
                )
            )
        )


def test_benefit_forms_come_from_social_insurance_the_bank_account_and_the_fund(city: City) -> None:
    _facts(city, until=date(2026, 4, 30))
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, UNEMPLOYMENT)
        assert case.form["bank_account"] == "6217000011112222333"
        assert case.form["last_employer"] == city.firm.name
        assert case.form["unemployed_since"] == "2026-05-01"  # the day after the last contribution
        assert case.prefill["bank_account"] == "insurance.bank_account"
        assert case.prefill["unemployed_since"] == "insurance.unemployed_since"
        assert set(catalogue.item(UNEMPLOYMENT).fields) <= set(case.form)  # nothing left to type
        withdrawal = service.start_case(s, city.resident, FUND_WITHDRAWAL)
        assert withdrawal.form["amount"] == 48_210.5 and withdrawal.prefill["amount"] == "fund.balance"
        # the applicant's own choices are still theirs: the reason, and an amount below the balance
        assert "withdrawal_reason" not in withdrawal.form
        service.update_form(s, city.resident, withdrawal.id, {"amount": 20_000.0})
        assert "amount" not in withdrawal.prefill
    reads = _fact_reads(city, city.rep.id)
    assert len(reads) == 2 and {r.detail.get("basis") for r in reads} == {"self"}
    assert all(r.purpose for r in reads)


def test_an_employer_is_only_prefilled_while_contributions_run(city: City) -> None:
    _facts(city, until=None)
    with city.db.transaction() as s:
        permit = service.start_case(s, city.resident, "310000-20-00061-001")
        assert permit.form["employer"] == city.firm.name and permit.prefill["employer"] == "insurance.employer"
        unemployment = service.start_case(s, city.resident, UNEMPLOYMENT)
        assert "unemployed_since" not in unemployment.form  # still employed: nothing to say


def test_the_e_bike_registration_takes_the_unregistered_bicycle_s_sale_record(city: City) -> None:
    _facts(city, until=None)
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, E_BIKE)
        assert case.form["frame_number"] == "EBTEST0000902"
        assert case.form["purchase_date"] == "2026-05-20"
        assert case.form["vehicle_brand"] == "雅迪" and case.prefill["motor_number"] == "e_bike.motor_number"
        assert set(catalogue.item(E_BIKE).fields) <= set(case.form)


def test_a_firm_s_insured_head_count_comes_from_social_insurance(city: City) -> None:
    _facts(city, until=None)
    with city.db.sessions() as s:
        insured = s.scalar(
            select(func.count())
            .select_from(PersonFacts)
            .where(PersonFacts.employer_id == city.firm.id, PersonFacts.employed_until.is_(None))
        )
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, FUND_REGISTRATION, uscc=city.firm.uscc)
        assert case.form["employees"] == insured and case.prefill["employees"] == "firm.insured_employees"


def test_facts_are_read_only_with_a_basis_covering_the_person(city: City) -> None:
    _facts(city, until=None)
    with city.db.sessions() as s:
        stranger = s.scalars(select(Person).where(Person.id != city.rep.id).order_by(Person.id)).first()
        assert stranger is not None
        s.expunge(stranger)
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        service.start_case(s, city.resident, UNEMPLOYMENT, id_number=stranger.id_number)
    with city.db.transaction() as s, pytest.raises(PermissionDenied):  # the door itself
        registries.person_facts_of(s, service.AGENT, stranger, "test", basis=ReadBasis.own(city.rep.id, "user:x"))
    assert _fact_reads(city, stranger.id) == []
