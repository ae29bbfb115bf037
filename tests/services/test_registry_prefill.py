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
FUND_RENTING = "310000-02-00101-002"
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
        # the applicant's own choice is still theirs: an amount below the balance
        service.update_form(s, city.resident, withdrawal.id, {"amount": 20_000.0})
        assert "amount" not in withdrawal.prefill
    reads = _fact_reads(city, city.rep.id)
    assert len(reads) == 2 and {r.detail.get("basis") for r in reads} == {"self"}
    assert all(r.purpose for r in reads)


def test_the_bank_card_and_the_employment_contract_are_not_asked_for_when_the_registries_hold_them(city: City) -> None:
    _facts(city, until=date(2026, 4, 30))
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, FUND_RENTING)
        card = next(m for m in case.materials if m["code"] == "bank_card")
        assert card["state"] == "held" and card["source"] == "registry:insurance.bank_account"
        assert "bank_card" not in {m["code"] for m in service.missing_materials(case)}
        # employed (contributions running): the employer on record stands in for the employment contract
        permit = service.start_case(s, city.resident, "310000-20-00061-001")
        contract = next(m for m in permit.materials if m["code"] == "labour_contract")
        assert contract["state"] == "missing"  # contributions stopped on 30 April
        s.execute(delete(PersonFacts).where(PersonFacts.person_id == city.rep.id))
        s.add(PersonFacts(person_id=city.rep.id, employer_id=city.firm.id, employed_until=None))
    with city.db.transaction() as s:
        permit = service.start_case(s, city.resident, "310000-20-00061-001")
        contract = next(m for m in permit.materials if m["code"] == "labour_contract")
        assert contract["state"] == "held" and contract["source"] == "registry:insurance.employer"
        s.execute(delete(PersonFacts).where(PersonFacts.person_id == city.rep.id))
    with city.db.transaction() as s:  # no account on record: the copy of the card is asked for
        case = service.start_case(s, city.resident, UNEMPLOYMENT)
        assert "bank_card" in {m["code"] for m in service.missing_materials(case)}


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


# -- a newborn from the birth registration; the withdrawal reason the registries show -----------------

BIRTH_REGISTRATION = "310000-07-00062-001"
NEWBORN_INSURANCE = "310000-20-00131-001"


def _newborn(city: City, parent_id: int, name: str) -> int:
    from onecity.core import clock
    from onecity.core.identity.principal import system_principal
    from onecity.hub.registries import life_events, relations
    from onecity.hub.registries.models import RelationKind

    registrar = system_principal("test:registrar")
    with city.db.transaction() as s:
        parent = s.get(Person, parent_id)
        assert parent is not None
        child = life_events.register_birth(
            s,
            registrar,
            name=name,
            male=False,
            birth_date=clock.local(clock.now()).date(),
            division_code=parent.division_code,
            address=parent.address,
            hukou_region=parent.hukou_region,
        )
        relations.record_relation(
            s, registrar, person_id=child.id, relative_id=parent.id, kind=RelationKind.PARENT, source="hospital report"
        )
        return child.id


def _reads_of(city: City, person_id: int) -> list[AuditEntry]:
    with city.db.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.subject == f"person:{person_id}")))


def test_a_parent_s_forms_take_the_newborn_from_the_birth_registration(city: City) -> None:
    child_id = _newborn(city, city.rep.id, "王小满")
    before = len(_reads_of(city, child_id))
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, BIRTH_REGISTRATION)
        assert case.form["child_name"] == "王小满" and case.prefill["child_name"] == "child.name"
        assert case.form["child_sex"] == "F" and case.prefill["child_birth_date"] == "child.birth_date"
        insurance = service.start_case(s, city.resident, NEWBORN_INSURANCE)
        assert insurance.form["child_name"] == "王小满"
    reads = [r for r in _reads_of(city, child_id)[before:] if r.action == "hub.registry.person.read"]
    # each draft read the child's record on the parent's registered relation, with a purpose
    assert len(reads) == 2 and all(r.purpose for r in reads)
    assert {r.detail.get("basis") for r in reads} == {"representation"}
    assert {r.detail.get("relation") for r in reads} == {"parent"}


def test_an_unrelated_person_s_newborn_is_neither_prefilled_nor_read(city: City) -> None:
    with city.db.sessions() as s:
        stranger = s.scalars(
            select(Person).where(Person.id != city.rep.id, Person.division_code == city.rep.division_code)
        ).first()
        assert stranger is not None
        s.expunge(stranger)
    child_id = _newborn(city, stranger.id, "赵小北")
    before = len(_reads_of(city, child_id))
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, BIRTH_REGISTRATION)
        assert "child_name" not in case.form and "child_name" not in case.prefill
    with city.db.transaction() as s, pytest.raises(PermissionDenied):  # the door: a basis for someone else
        registries.newborn_of(s, service.AGENT, stranger, "test", basis=ReadBasis.own(city.rep.id, "user:x"))
    with city.db.transaction() as s:  # an official's duty reads no one's newborn through this door
        assert registries.newborn_of(s, service.AGENT, stranger, "test", basis=ReadBasis.duty("test duty")) is None
    assert len(_reads_of(city, child_id)) == before


def test_a_withdrawal_for_a_home_bought_takes_its_title_from_the_real_estate_register(city: City) -> None:
    """The reason is the item chosen (as Shanghai lists them: buying, renting, retirement): buying reads
    the title from the registry; renting asks for no title at all."""
    from onecity.hub.registries.models import Certificate, CertificateStatus

    _facts(city, until=None)
    with city.db.transaction() as s:
        rep = s.get(Person, city.rep.id)
        assert rep is not None
        s.add(
            Certificate(
                id=9_100_001,
                type_code="real_estate_certificate",
                number="沪(2026)徐字不动产权第9100001号",
                holder_kind=HolderKind.PERSON,
                holder_id=rep.id,
                holder_identifier=rep.id_number,
                holder_name=rep.name,
                issuer="上海市规划和自然资源局",
                issued_on=date(2026, 3, 2),  # newer than any title the seed gave them
                valid_until=None,
                status=CertificateStatus.VALID,
                division_code=rep.division_code,
                data={"address": rep.address, "area_m2": 72.5, "use": "住宅"},
            )
        )
    with city.db.transaction() as s:
        bought = service.start_case(s, city.resident, FUND_WITHDRAWAL)
        assert bought.form["property_certificate_no"] == "沪(2026)徐字不动产权第9100001号"
        assert bought.prefill["property_certificate_no"] == "cert.real_estate_certificate.number"
        assert set(catalogue.item(FUND_WITHDRAWAL).fields) <= set(bought.form)
        rented = service.start_case(s, city.resident, FUND_RENTING)
        assert "property_certificate_no" not in catalogue.item(FUND_RENTING).fields
        assert set(catalogue.item(FUND_RENTING).fields) <= set(rented.form)


PUBLIC_HYGIENE = "310000-01-00093-001"


def test_a_firm_s_floor_area_comes_from_its_premises_title_or_lease(city: City) -> None:
    from onecity.hub.registries.models import LegalPerson, Premises

    with city.db.transaction() as s:
        s.execute(delete(Premises).where(Premises.legal_person_id == city.firm.id))
        s.add(
            Premises(
                id=city.firm.id,
                legal_person_id=city.firm.id,
                address=city.firm.address,
                area_m2=86.5,
                use="商业",
                tenure="leased",
                recorded_on=date(2024, 5, 1),
            )
        )
        other = s.scalars(
            select(LegalPerson).where(LegalPerson.legal_rep_id != city.rep.id).order_by(LegalPerson.id)
        ).first()
        assert other is not None
        s.expunge(other)
    with city.db.sessions() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.object_type == "premises"))
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, PUBLIC_HYGIENE, uscc=city.firm.uscc)
        assert case.form["floor_area_m2"] == 86.5 and case.prefill["floor_area_m2"] == "premises.area_m2"
    with city.db.sessions() as s:
        reads = list(
            s.scalars(select(AuditEntry).where(AuditEntry.object_type == "premises").order_by(AuditEntry.seq))
        )[before or 0 :]
    # read for the firm's legal representative, audited to them, with the basis and a purpose
    assert [(r.object_id, r.subject) for r in reads] == [(str(city.firm.id), f"person:{city.rep.id}")]
    assert reads[0].detail.get("basis") == "self" and reads[0].purpose
    # another firm's premises: not through the representative's basis, and nothing read
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        service.start_case(s, city.resident, PUBLIC_HYGIENE, uscc=other.uscc)
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        registries.premises_of(s, service.AGENT, other, "test", basis=ReadBasis.own(city.rep.id, "user:x"))
    with city.db.sessions() as s:
        assert not s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.object_id == str(other.id))
            .where(AuditEntry.object_type == "premises")
        )
