"""Service functions over the base registries, for the other parts of the platform.

Thin on purpose: look a person or a firm up by the identifier people present, list and
issue and revoke certificates. Every function takes the acting principal; reads of personal
data take a purpose and a :class:`~onecity.hub.registries.relations.ReadBasis` (an official duty,
the person themselves, or a representation proven from the registry) and pass through one door,
:func:`_audited_read`, which checks the basis against the subject at that moment and writes the
audit entry naming the subject and the basis, so the resident's "who read my data" sees them and
the relation of whoever acted for them. Field-masked reads for other agencies go through grants
in :mod:`onecity.hub.sharing`, not through here.

State changes follow the platform's sequence: check the policy and the current state → lock
the row → save → audit → publish a typed event in the same transaction (the outbox).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onecity.core import audit, clock, events, policy, transition
from onecity.core.errors import Conflict, InvalidInput, NotFound
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import Role
from onecity.hub.registries.events import CERTIFICATE_ISSUED, CERTIFICATE_REVOKED, CertificateIssued, CertificateRevoked
from onecity.hub.registries.identifiers import InvalidIdentifier, validate_resident_id, validate_uscc
from onecity.hub.registries.models import (
    Certificate,
    CertificateStatus,
    CertificateType,
    HolderKind,
    LegalPerson,
    LegalPersonStatus,
    Person,
    PersonFacts,
    PersonRelation,
    PersonStatus,
    Premises,
    RelationKind,
    Vehicle,
)
from onecity.hub.registries.relations import BasisKind, ReadBasis, check, prove

R = Role
_STAFF_READERS = frozenset({R.COUNTER_CLERK, R.REVIEWER, R.APPROVER, R.INSPECTOR, R.DATA_STEWARD})

policy.register_actions(
    {
        "hub.registry.person.read": _STAFF_READERS,
        "hub.registry.legal_person.read": _STAFF_READERS | {R.DISPATCHER, R.OPERATOR},
        "hub.registry.certificate.read": _STAFF_READERS | {R.DISPATCHER, R.OPERATOR},
        "hub.registry.certificate.issue": frozenset({R.APPROVER, R.DATA_STEWARD}),
        "hub.registry.certificate.revoke": frozenset({R.APPROVER, R.DATA_STEWARD}),
        "hub.registry.export": frozenset({R.ADMIN}),
        "hub.registry.load": frozenset({R.ADMIN, R.DATA_STEWARD}),
        "hub.registry.seed": frozenset({R.ADMIN}),
    }
)


def _subject(kind: str, holder_id: int) -> str | None:
    """The audit subject of personal data: the person (firms' data is not personal)."""
    return f"person:{holder_id}" if kind == HolderKind.PERSON else None


# -- reads ----------------------------------------------------------------------------------------


def _audited_read(
    session: Session,
    principal: Principal,
    action: str,
    basis: ReadBasis,
    purpose: str,
    *,
    person_id: int | None,
    firm_id: int | None = None,
    object_type: str,
    object_id: str,
    division_code: str | None,
    scope_object: str = "hub.person",
) -> None:
    """The one door of a read of a person's or a firm's registry data: on an official duty the record
    lies in the principal's area (``scope_object`` in ``division_code``; a counter clerk, for the person
    present, anywhere in the city: 全市通办), the basis must cover the subject now
    (:func:`relations.check`), a purpose is stated, and the audit entry names both.

    The area check stands here, not in each read, so no read of what a registry holds about someone can
    skip it: a caller passing a person in is held to the same area as one looking the person up.

    A firm's data read on an official duty is the public business register (no entry); read for
    its legal representative or someone they authorised, the entry goes to the representative.
    """
    if division_code is not None and basis.kind is BasisKind.DUTY and not basis.reaches_past_area(principal):
        policy.require_in_scope(session, principal, scope_object, division_code)
    if not purpose or not purpose.strip():
        raise InvalidInput(
            "reading personal data needs a purpose: send it in the X-OneCity-Purpose header "
            "(e.g. 'case 2026-000123 review')"
        )
    basis = check(session, principal, basis, person_id=person_id, firm_id=firm_id)
    subject = person_id if firm_id is None else basis.person_id
    if subject is None:
        return
    audit.record(
        session,
        principal,
        action,
        object_type=object_type,
        object_id=object_id,
        subject=f"person:{subject}",
        purpose=purpose.strip()[:200],
        division_code=division_code,
        detail=basis.detail(),
    )


def person_by_id_number(
    session: Session, principal: Principal, id_number: str, purpose: str, *, basis: ReadBasis
) -> Person:
    """The person with this resident ID number; the read is audited with its basis.

    On an official duty the record must lie in the principal's area (at a counter, for the person
    present, anywhere in the city: 全市通办); for the person themselves or a proven representative
    the basis names the person, so no area applies.
    """
    policy.require(principal, "hub.registry.person.read")
    validate_resident_id(id_number)
    person = session.scalar(select(Person).where(Person.id_number == id_number))
    if person is None:
        raise NotFound(f"no person with ID number {id_number[:6]}…{id_number[-4:]} in the registry")
    _audited_read(
        session,
        principal,
        "hub.registry.person.read",
        basis,
        purpose,
        person_id=person.id,
        object_type="person",
        object_id=str(person.id),
        division_code=person.division_code,
    )
    return person


def person_facts_of(
    session: Session, principal: Principal, person: Person, purpose: str, *, basis: ReadBasis
) -> dict[str, Any]:
    """What the other base registries hold about ``person`` that forms ask for, read through the one door
    (the basis must cover the person now; audited as a read of their record, ``person_facts``).

    Keys (absent when the registry holds nothing): ``bank_account`` (the social security card's bank
    account benefits are paid into), ``employer`` (the firm paying their social insurance now),
    ``last_employer`` and ``unemployed_since`` (the last one, and the day after contributions stopped),
    ``provident_fund_balance``, ``household_size``, and ``e_bike`` (the newest electric bicycle sold to
    them and not registered yet: ``brand``, ``frame_number``, ``motor_number``, ``purchased_on``).
    """
    policy.require(principal, "hub.registry.person.read")
    _audited_read(
        session,
        principal,
        "hub.registry.person.read",
        basis,
        purpose,
        person_id=person.id,
        object_type="person_facts",
        object_id=str(person.id),
        division_code=person.division_code,
    )
    out: dict[str, Any] = {}
    facts = session.get(PersonFacts, person.id)
    if facts is not None:
        employer = session.get(LegalPerson, facts.employer_id) if facts.employer_id is not None else None
        values: dict[str, Any] = {
            "bank_account": facts.bank_account,
            "provident_fund_balance": facts.provident_fund_balance,
            "household_size": facts.household_size,
        }
        if employer is not None:
            values["last_employer"] = employer.name
            if facts.employed_until is None:
                values["employer"] = employer.name
            else:
                values["unemployed_since"] = date.fromordinal(facts.employed_until.toordinal() + 1)
        out.update({k: v for k, v in values.items() if v is not None})
    bike = session.scalar(
        select(Vehicle)
        .where(
            Vehicle.holder_kind == HolderKind.PERSON,
            Vehicle.holder_id == person.id,
            Vehicle.kind == "e_bike",
            Vehicle.registered_on.is_(None),
        )
        .order_by(Vehicle.purchased_on.desc(), Vehicle.id.desc())
        .limit(1)
    )
    if bike is not None:
        out["e_bike"] = {
            "brand": bike.brand,
            "frame_number": bike.frame_number,
            "motor_number": bike.motor_number,
            "purchased_on": bike.purchased_on,
        }
    return out


#: How recent a birth the parent's forms are prefilled with (a newborn's registration, benefits, insurance).
NEWBORN_DAYS = 366


def newborn_of(
    session: Session, principal: Principal, parent: Person, purpose: str, *, basis: ReadBasis
) -> Person | None:
    """The parent's youngest child born in the last year, as its birth registration recorded it (the hospital's
    birth report names the parent), or None.

    Read through the one door twice: the basis must be the parent's own (their linked account; an
    official's duty or someone acting for the parent reads nothing here, the child is not theirs), and the
    child's record is read on the parent's registered relation to the minor, proven again from the registry
    (:func:`relations.prove`) and audited as a read of the child's record naming that relation.
    """
    policy.require(principal, "hub.registry.person.read")
    if basis.kind is not BasisKind.SELF:
        return None
    check(session, principal, basis, person_id=parent.id, firm_id=None)
    since = date.fromordinal(clock.local(clock.now()).date().toordinal() - NEWBORN_DAYS)
    child = session.scalar(
        select(Person)
        .join(PersonRelation, PersonRelation.person_id == Person.id)
        .where(
            PersonRelation.relative_id == parent.id,
            PersonRelation.kind == RelationKind.PARENT,
            PersonRelation.ended_at.is_(None),
            Person.birth_date >= since,
            Person.status == PersonStatus.ALIVE,
        )
        .order_by(Person.birth_date.desc(), Person.id.desc())
        .limit(1)
    )
    if child is None:
        return None
    proven = prove(session, parent, id_number=child.id_number, items=basis.items, account=basis.account or "")
    if proven is None:
        return None
    _audited_read(
        session,
        principal,
        "hub.registry.person.read",
        proven,
        purpose,
        person_id=child.id,
        object_type="person",
        object_id=str(child.id),
        division_code=child.division_code,
    )
    return child


def premises_of(
    session: Session, principal: Principal, firm: LegalPerson, purpose: str, *, basis: ReadBasis
) -> Premises | None:
    """The premises ``firm`` operates from as the real-estate registry records them (its newest title or
    filed lease), or None: read through the one door, for the firm's legal representative (or someone
    they authorised, audited to the representative) or an official on duty."""
    policy.require(principal, "hub.registry.legal_person.read")
    _audited_read(
        session,
        principal,
        "hub.registry.legal_person.read",
        basis,
        purpose,
        person_id=None,
        firm_id=firm.id,
        object_type="premises",
        object_id=str(firm.id),
        division_code=firm.division_code,
        scope_object="hub.legal_person",
    )
    return session.scalar(
        select(Premises)
        .where(Premises.legal_person_id == firm.id)
        .order_by(Premises.recorded_on.desc(), Premises.id.desc())
        .limit(1)
    )


def insured_employees(session: Session, firm: LegalPerson) -> int:
    """How many people the firm pays social insurance for now (the social insurance register's head count:
    a firm's figure, no one person's data)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(PersonFacts)
            .where(PersonFacts.employer_id == firm.id, PersonFacts.employed_until.is_(None))
        )
        or 0
    )


def legal_person_by_uscc(session: Session, principal: Principal, uscc: str) -> LegalPerson:
    """The legal person with this credit code. Firms' registration data is public (企业信息公示):
    no basis, no audit; what a firm holds (its certificates) goes through :func:`certificates_of`."""
    policy.require(principal, "hub.registry.legal_person.read")
    validate_uscc(uscc)
    firm = session.scalar(select(LegalPerson).where(LegalPerson.uscc == uscc))
    if firm is None:
        raise NotFound(f"no legal person with credit code {uscc} in the registry")
    return firm


def firms_represented_by(
    session: Session, principal: Principal, person: Person, purpose: str, *, basis: ReadBasis
) -> list[LegalPerson]:
    """The active firms whose legal representative is ``person``, by name: which firms a person stands for
    is personal data, so the read goes through the one door (a basis covering the person, audited)."""
    policy.require(principal, "hub.registry.legal_person.read")
    _audited_read(
        session,
        principal,
        "hub.registry.legal_person.read",
        basis,
        purpose,
        person_id=person.id,
        object_type="person",
        object_id=str(person.id),
        division_code=person.division_code,
    )
    return list(
        session.scalars(
            select(LegalPerson)
            .where(LegalPerson.legal_rep_id == person.id, LegalPerson.status == LegalPersonStatus.ACTIVE)
            .order_by(LegalPerson.name)
            .limit(50)
        )
    )


def certificates_of(
    session: Session,
    principal: Principal,
    holder_kind: HolderKind,
    holder_id: int,
    purpose: str,
    *,
    basis: ReadBasis,
) -> list[Certificate]:
    """All certificates a person or legal person holds (newest first), read through the one door."""
    policy.require(principal, "hub.registry.certificate.read")
    certs = list(
        session.scalars(
            select(Certificate)
            .where(Certificate.holder_kind == holder_kind, Certificate.holder_id == holder_id)
            .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
        )
    )
    person_id = holder_id if holder_kind == HolderKind.PERSON else None
    firm_id = holder_id if holder_kind == HolderKind.LEGAL_PERSON else None
    _audited_read(
        session,
        principal,
        "hub.registry.certificate.read",
        basis,
        purpose,
        person_id=person_id,
        firm_id=firm_id,
        object_type="certificate",
        object_id=f"{holder_kind}:{holder_id}",
        division_code=certs[0].division_code if certs else None,
        scope_object="hub.certificate",
    )
    return certs


# -- state changes ----------------------------------------------------------------------------------


def _holder(session: Session, kind: HolderKind, holder_id: int) -> tuple[str, str, str]:
    """(identifier, name, division code) of an existing holder."""
    if kind == HolderKind.PERSON:
        person = session.get(Person, holder_id)
        if person is None:
            raise NotFound(f"person {holder_id} is not in the registry")
        return person.id_number, person.name, person.division_code
    firm = session.get(LegalPerson, holder_id)
    if firm is None:
        raise NotFound(f"legal person {holder_id} is not in the registry")
    return firm.uscc, firm.name, firm.division_code


def issue_certificate(
    session: Session,
    principal: Principal,
    *,
    type_code: str,
    holder_kind: HolderKind,
    holder_id: int,
    number: str,
    issuer: str,
    issued_on: date,
    valid_until: date | None = None,
    data: dict[str, Any] | None = None,
    reason: str = "issued",
) -> Certificate:
    """Put a new certificate into the registry (later parts issue through this)."""
    policy.require(principal, "hub.registry.certificate.issue")
    ctype = session.get(CertificateType, type_code)
    if ctype is None:
        raise InvalidInput(f"unknown certificate type {type_code!r}")
    if ctype.holder_kind != holder_kind:
        raise InvalidInput(f"a {ctype.name_en} is held by a {ctype.holder_kind}, not a {holder_kind}")
    if not number or len(number) > 64:
        raise InvalidInput("a certificate number is 1–64 characters")
    if valid_until is None and ctype.validity_years is not None:
        valid_until = issued_on.replace(year=issued_on.year + ctype.validity_years)
    if valid_until is not None and valid_until < issued_on:
        raise InvalidInput("valid_until cannot be before issued_on")
    identifier, name, division = _holder(session, holder_kind, holder_id)
    try:  # the holder's identifier was validated when it entered the registry; a bad one is a data fault
        (validate_resident_id if holder_kind == HolderKind.PERSON else validate_uscc)(identifier)
    except InvalidIdentifier as err:
        raise Conflict(f"the holder's identifier fails its check ({err.detail}); correct the registry first") from err
    policy.require_in_scope(session, principal, "hub.certificate", division)
    if session.scalar(select(Certificate.id).where(Certificate.number == number)) is not None:
        raise Conflict(f"certificate number {number} is already in the registry")
    # ids are 64-bit and assigned by the registry (the seed numbers from 1): take the next one
    # under a lock on the type row, so two issuers never pick the same id
    session.execute(select(CertificateType).where(CertificateType.code == type_code).with_for_update())
    next_id = (session.scalar(select(func.max(Certificate.id))) or 0) + 1
    cert = Certificate(
        id=next_id,
        type_code=type_code,
        number=number,
        holder_kind=holder_kind,
        holder_id=holder_id,
        holder_identifier=identifier,
        holder_name=name,
        issuer=issuer,
        issued_on=issued_on,
        valid_until=valid_until,
        status=CertificateStatus.VALID,
        revoked_at=None,
        division_code=division,
        data=data or {},
    )
    session.add(cert)
    session.flush()
    audit.record(
        session,
        principal,
        "hub.certificate.issued",
        object_type="certificate",
        object_id=str(cert.id),
        subject=_subject(holder_kind, holder_id),
        division_code=division,
        detail={"type": type_code, "number": number},
    )
    events.publish(
        session,
        CERTIFICATE_ISSUED,
        CertificateIssued(
            certificate_id=cert.id,
            type_code=type_code,
            number=number,
            holder_kind=holder_kind.value,
            holder_id=holder_id,
            division_code=division,
            valid_until=valid_until,
        ),
        principal=principal,
        reason=reason,
    )
    return cert


def _number_of(cert: Certificate) -> str:
    return cert.number


def _holder_of(cert: Certificate) -> str | None:
    return _subject(cert.holder_kind, cert.holder_id)


#: A certificate's states, for the transition helper (:mod:`onecity.core.transition`).
CERTIFICATES = transition.Machine(
    Certificate,
    object_type="certificate",
    noun="registries.certificate.noun",
    states="registries.certificate.status.",
    label="certificate",
    name=_number_of,
    subject=_holder_of,
)


def revoke_certificate(session: Session, principal: Principal, certificate_id: int, reason: str) -> Certificate:
    """Revoke a valid or expired certificate; revoking twice is a conflict, not a no-op."""
    policy.require(principal, "hub.registry.certificate.revoke")
    if not reason or not reason.strip():
        raise InvalidInput("say why the certificate is revoked")
    change = transition.begin(
        session,
        principal,
        CERTIFICATES,
        certificate_id,
        action="hub.registry.certificate.revoke",
        guard=transition.in_area("hub.certificate"),
        allowed=(CertificateStatus.VALID, CertificateStatus.EXPIRED),
        missing=f"certificate {certificate_id} is not in the registry",
        doing="revoked",
    )
    cert = change.row
    cert.status = CertificateStatus.REVOKED
    cert.revoked_at = clock.now()
    change.done(
        "hub.certificate.revoked",
        CERTIFICATE_REVOKED,
        CertificateRevoked(
            certificate_id=cert.id,
            type_code=cert.type_code,
            number=cert.number,
            holder_kind=str(cert.holder_kind),
            holder_id=cert.holder_id,
            division_code=cert.division_code,
            reason=reason.strip()[:200],
        ),
        reason=reason.strip()[:300],
        detail={"number": cert.number, "reason": reason.strip()[:200]},
    )
    return cert
