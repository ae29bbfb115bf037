"""Service functions: audited personal reads, certificate issue and revocation with events."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from onecity.core.events import OutboxMessage
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.registries import service
from onecity.hub.registries.models import CertificateStatus, HolderKind, Person
from onecity.hub.registries.relations import ReadBasis
from onecity.synth.registries.seed import seed
from onecity.web import i18n
from tests.conftest import SYSTEM

DUTY = ReadBasis.duty("registry tests: an officer's review duty")

XUHUI = "310104000000"
HUANGPU = "310101000000"


def _staff(division: str, *roles: Role) -> Principal:
    return Principal(
        kind=PrincipalKind.STAFF,
        id=f"staff-{division}",
        name="clerk",
        roles=frozenset(roles),
        agency_id=None,
        division_code=division,
    )


@pytest.fixture
def seeded(small_city: Database) -> Database:
    seed(small_city, 0.0002, 3, SYSTEM, out=None)
    return small_city


def _a_person_in(db: Database, district: str) -> Person:
    with db.sessions() as s:
        p = s.scalars(select(Person).where(Person.division_code.startswith(district[:6])).order_by(Person.id)).first()
    assert p is not None
    return p


def test_person_read_is_audited_with_purpose_and_scoped(seeded: Database) -> None:
    person = _a_person_in(seeded, XUHUI)
    clerk = _staff(XUHUI, Role.COUNTER_CLERK)
    with seeded.transaction() as s, pytest.raises(InvalidInput, match="purpose"):
        service.person_by_id_number(s, clerk, person.id_number, "", basis=DUTY)
    with seeded.transaction() as s:
        found = service.person_by_id_number(s, clerk, person.id_number, "case 2026-000123 review", basis=DUTY)
        assert found.id == person.id
    with seeded.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "hub.registry.person.read")).one()
    assert entry.subject == f"person:{person.id}" and entry.purpose == "case 2026-000123 review"
    with seeded.transaction() as s, pytest.raises(PermissionDenied, match="outside your area"):
        service.person_by_id_number(s, _staff(HUANGPU, Role.COUNTER_CLERK), person.id_number, "review", basis=DUTY)
    with seeded.transaction() as s, pytest.raises(PermissionDenied):
        service.person_by_id_number(s, _staff(XUHUI, Role.AUDITOR), person.id_number, "review", basis=DUTY)


@pytest.mark.parametrize("read", ["person_facts_of", "firms_represented_by"])
def test_a_read_of_a_person_passed_in_is_held_to_the_officials_area(seeded: Database, read: str) -> None:
    """The area check stands in the one door, so a read given a person (not looking one up) cannot skip it."""
    person = _a_person_in(seeded, XUHUI)
    reader = getattr(service, read)
    with seeded.transaction() as s, pytest.raises(PermissionDenied, match="outside your area"):
        reader(s, _staff(HUANGPU, Role.REVIEWER), s.get(Person, person.id), "review", basis=DUTY)
    with seeded.sessions() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.subject == f"person:{person.id}")).first() is None
    with seeded.transaction() as s:
        reader(s, _staff(XUHUI, Role.REVIEWER), s.get(Person, person.id), "case 2026-000123 review", basis=DUTY)
    with seeded.sessions() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.subject == f"person:{person.id}")).first() is not None


def test_issue_and_revoke_a_certificate(seeded: Database) -> None:
    person = _a_person_in(seeded, XUHUI)
    approver = _staff(XUHUI, Role.APPROVER)
    with seeded.transaction() as s:
        cert = service.issue_certificate(
            s,
            approver,
            type_code="driving_licence",
            holder_kind=HolderKind.PERSON,
            holder_id=person.id,
            number="DL-TEST-0001",
            issuer="上海市公安局交通警察总队",
            issued_on=date(2026, 1, 5),
            data={"vehicle_class": "C1"},
        )
        assert cert.valid_until == date(2032, 1, 5) and cert.holder_identifier == person.id_number
    with seeded.transaction() as s, pytest.raises(Conflict, match="already in the registry"):
        service.issue_certificate(
            s,
            approver,
            type_code="driving_licence",
            holder_kind=HolderKind.PERSON,
            holder_id=person.id,
            number="DL-TEST-0001",
            issuer="x",
            issued_on=date(2026, 1, 5),
        )
    with seeded.transaction() as s, pytest.raises(InvalidInput, match="held by a legal_person"):
        service.issue_certificate(
            s,
            approver,
            type_code="business_licence",
            holder_kind=HolderKind.PERSON,
            holder_id=person.id,
            number="B-1",
            issuer="x",
            issued_on=date(2026, 1, 5),
        )
    with seeded.transaction() as s, pytest.raises(NotFound):
        service.issue_certificate(
            s,
            approver,
            type_code="driving_licence",
            holder_kind=HolderKind.PERSON,
            holder_id=10**9,
            number="D-2",
            issuer="x",
            issued_on=date(2026, 1, 5),
        )
    with seeded.transaction() as s:
        revoked = service.revoke_certificate(s, approver, cert.id, "licence withdrawn after a court ruling")
        assert revoked.status == CertificateStatus.REVOKED and revoked.revoked_at is not None
    with (
        seeded.transaction() as s,
        pytest.raises(Conflict, match="is revoked; only a certificate that is valid") as err,
    ):
        service.revoke_certificate(s, approver, cert.id, "again")
    assert i18n.say("zh", err.value).endswith("当前为「已注销」，此操作只能在「有效或已过期」时进行。")
    with seeded.transaction() as s:
        held = service.certificates_of(s, approver, HolderKind.PERSON, person.id, "licence check", basis=DUTY)
        assert cert.id in [c.id for c in held]
    with seeded.sessions() as s:
        types = list(s.scalars(select(OutboxMessage.event_type).order_by(OutboxMessage.occurred_at)))
        actions = set(s.scalars(select(AuditEntry.action)))
    assert types == ["hub.certificate.issued", "hub.certificate.revoked"]
    assert {"hub.certificate.issued", "hub.certificate.revoked", "hub.registry.certificate.read"} <= actions


def test_firm_lookup_by_credit_code(seeded: Database) -> None:
    from onecity.hub.registries.models import LegalPerson

    with seeded.sessions() as s:
        firm = s.scalars(select(LegalPerson).order_by(LegalPerson.id)).first()
    assert firm is not None
    with seeded.transaction() as s:
        assert service.legal_person_by_uscc(s, _staff(XUHUI, Role.INSPECTOR), firm.uscc).id == firm.id
        with pytest.raises(InvalidInput):
            service.legal_person_by_uscc(s, _staff(XUHUI, Role.INSPECTOR), firm.uscc[:17] + "?")
