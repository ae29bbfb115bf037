"""Who acts on a case and what the government already holds about the applicant.

The part's policy actions are registered here, in the module every other one of the case
file imports. See :mod:`onecity.services.service` for the channels (online, proxy, counter)
and the two exemptions (两个免于提交) these functions implement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import clock, policy
from onecity.core.errors import InvalidInput, NotFound, PermissionDenied
from onecity.core.identity.models import Agency
from onecity.core.identity.principal import Principal, system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.registries import relations
from onecity.hub.registries import service as registries
from onecity.hub.registries.models import Certificate, CertificateStatus, HolderKind, LegalPerson, Person
from onecity.hub.registries.relations import BasisKind, ReadBasis
from onecity.hub.sharing.models import ResidentLink
from onecity.services import workflow
from onecity.services.models import (
    Case,
    Channel,
)

R = Role


STAFF_ROLES = frozenset({R.COUNTER_CLERK, R.REVIEWER, R.APPROVER})


policy.register_actions(
    {
        "services.case.counter": frozenset({R.COUNTER_CLERK}),
        "services.case.read": STAFF_ROLES,
        "services.work.list": STAFF_ROLES,
        "services.work.complete": STAFF_ROLES,
        "services.rating.follow_up": frozenset({R.COUNTER_CLERK, R.APPROVER}),
    }
)


#: The platform acting for an applicant on their own case (online and proxy channels).
AGENT = system_principal("services:one-stop")


APPLICANT_ROLE = workflow.APPLICANT


def linked_person(session: Session, principal: Principal) -> Person:
    """The person record a citizen's account is linked to (after an identity check)."""
    if principal.kind not in (PrincipalKind.CITIZEN, PrincipalKind.ENTERPRISE):
        raise PermissionDenied("this is for residents and firms; staff apply at the counter on their behalf")
    pid = session.scalar(select(ResidentLink.person_id).where(ResidentLink.user_id == principal.id))
    if pid is None:
        raise PermissionDenied(
            "your account is not linked to your person record yet: have your identity checked "
            "once at any service counter, where a clerk links it (POST /api/v1/sharing/residents/links)"
        )
    person = session.get(Person, pid)
    assert person is not None  # foreign key
    return person


def received_here(principal: Principal, case: Case) -> bool:
    """Whether this clerk received the case at their counter (全市通办: the resident may be registered
    anywhere in the city); the clerk carries it on to submission, and the competent office decides."""
    return (
        case.channel == Channel.COUNTER and case.created_by == principal.ref and principal.has_role(Role.COUNTER_CLERK)
    )


def channel_of(session: Session, principal: Principal, case: Case) -> Channel:
    """The channel this principal acts on the case through; refuses anyone else."""
    if principal.kind is PrincipalKind.STAFF:
        policy.require(principal, "services.case.counter")
        if not received_here(principal, case):
            policy.require_in_scope(session, principal, "services.case", case.division_code)
        return Channel.COUNTER
    person = linked_person(session, principal)
    if person.id == case.person_id:
        return Channel.ONLINE
    if case.proxy_person_id is not None and person.id == case.proxy_person_id:
        # the standing to act must still hold: a revoked or expired power, or a child come of age, ends it
        if case.person_id is None or not relations.represents(session, person, case.person_id, (case.item_code,)):
            raise PermissionDenied(relations.missing_proof((case.item_code,)))
        return Channel.PROXY
    raise NotFound(f"no case {case.id} of yours")  # not 403: do not confirm another person's case exists


def department_codes(session: Session, principal: Principal) -> set[str]:
    """Agency codes of the principal's agency and the agencies above it (a district branch stands under its bureau)."""
    codes: set[str] = set()
    agency_id = principal.agency_id
    while agency_id is not None and len(codes) < 8:
        agency = session.get(Agency, agency_id)
        if agency is None or agency.code in codes:
            break
        codes.add(agency.code)
        agency_id = agency.parent_id
    return codes


def my_firms(session: Session, principal: Principal) -> list[LegalPerson]:
    """The firms a resident is the legal representative of, from the legal-person registry (an audited
    read of their own record): what they pick from when a firm applies, instead of typing its code."""
    me = linked_person(session, principal)
    return registries.firms_represented_by(
        session,
        AGENT,
        me,
        f"一网通办：列出本人担任法定代表人的企业（申请账号 {principal.name}）",
        basis=ReadBasis.own(me.id, principal.ref),
    )


#: Where each of :func:`registries.person_facts_of`'s facts is prefilled from (a field's ``x-prefill``).
FACT_SOURCES = {
    "bank_account": "insurance.bank_account",
    "employer": "insurance.employer",
    "last_employer": "insurance.last_employer",
    "unemployed_since": "insurance.unemployed_since",
    "provident_fund_balance": "fund.balance",
    "household_size": "household.size",
}


@dataclass
class Facts:
    """What the registries say about an applicant, read once per draft."""

    values: dict[str, Any]
    certificates: dict[str, Certificate]


def applicant_facts(
    session: Session, reader: Principal, person: Person, firm: LegalPerson | None, purpose: str, basis: ReadBasis
) -> Facts:
    """The applicant's registry record, their firm's, and their valid certificates, read once and audited
    through the registries' one door with the basis the applicant resolution proved."""
    found = registries.person_by_id_number(session, reader, person.id_number, purpose, basis=basis)
    values: dict[str, Any] = {
        "person.name": found.name,
        "person.id_number": found.id_number,
        "person.sex": found.sex,
        "person.birth_date": found.birth_date.isoformat(),
        "person.address": found.address,
        "person.hukou_region": found.hukou_region,
    }
    if found.phone:
        values["person.phone"] = found.phone
    # social insurance, the bank account benefits are paid into, the provident fund, the household
    # register and the vehicles sold to them: the same basis, one more audited read
    other = registries.person_facts_of(session, reader, found, purpose, basis=basis)
    bike = other.pop("e_bike", None)
    for key, value in other.items():
        values[FACT_SOURCES[key]] = value.isoformat() if isinstance(value, date) else value
    if bike is not None:
        values.update(
            {
                "e_bike.brand": bike["brand"],
                "e_bike.frame_number": bike["frame_number"],
                "e_bike.motor_number": bike["motor_number"],
                "e_bike.purchase_date": bike["purchased_on"].isoformat(),
            }
        )
    # the applicant's newborn, as the birth registration recorded them (their own account only)
    child = registries.newborn_of(session, reader, found, purpose, basis=basis)
    if child is not None:
        values.update(
            {
                "child.name": child.name,
                "child.sex": child.sex,
                "child.birth_date": child.birth_date.isoformat(),
            }
        )
    held: list[Certificate] = list(
        registries.certificates_of(session, reader, HolderKind.PERSON, person.id, purpose, basis=basis)
    )
    if firm is not None:
        firm = registries.legal_person_by_uscc(session, reader, firm.uscc)
        rep = session.get(Person, firm.legal_rep_id)
        values.update(
            {
                "firm.name": firm.name,
                "firm.uscc": firm.uscc,
                "firm.address": firm.address,
                "firm.registered_capital": float(firm.registered_capital),
                "firm.industry": firm.industry,
                "firm.legal_rep_name": rep.name if rep else None,
                # the social insurance register's head count (none when it counts nobody)
                "firm.insured_employees": registries.insured_employees(session, firm) or None,
            }
        )
        # the real-estate registry's title or filed lease of the premises: their building area
        premises = registries.premises_of(session, reader, firm, purpose, basis=basis)
        if premises is not None:
            values["premises.area_m2"] = premises.area_m2
        held += registries.certificates_of(session, reader, HolderKind.LEGAL_PERSON, firm.id, purpose, basis=basis)
    today = clock.local(clock.now()).date()
    certs: dict[str, Certificate] = {}
    for c in held:  # newest first: keep the newest valid certificate of each type
        if c.status == CertificateStatus.VALID and (c.valid_until is None or c.valid_until >= today):
            certs.setdefault(c.type_code, c)
    for type_code, c in certs.items():
        values[f"cert.{type_code}.number"] = c.number
        for key, value in (c.data or {}).items():
            values[f"cert.{type_code}.{key}"] = value
    return Facts(values={k: v for k, v in values.items() if v is not None}, certificates=certs)


@dataclass(frozen=True)
class Applicant:
    person: Person
    firm: LegalPerson | None
    channel: Channel
    reader: Principal
    #: Why the reader may read the applicant's data: duty (counter), self (online), proven representation (proxy).
    basis: ReadBasis
    proxy: Person | None = None
    proxy_relation: str | None = None


def resolve_applicant(
    session: Session,
    principal: Principal,
    *,
    applicant_kind: str,
    id_number: str | None = None,
    uscc: str | None = None,
    identity_checked: bool = False,
    proxy_relation: str | None = None,
    items: tuple[str, ...] = (),
) -> Applicant:
    """Who the case is for, and on which channel; checks the principal may apply for them.

    Acting for someone else must be proven first (:func:`relations.prove`, for ``items``): the
    stated ``proxy_relation`` proves nothing and is not kept; the case records the proven relation.
    Without proof the answer is a 403 that says which proof is missing and how to get it, and
    nothing about the person is read.
    """
    if principal.kind is PrincipalKind.STAFF:
        policy.require(principal, "services.case.counter")
        if not id_number:
            raise InvalidInput("at the counter, give the applicant's resident ID number (id_number)")
        if not identity_checked:
            raise InvalidInput("check the applicant's identity document first, then confirm it (identity_checked)")
        # 全市通办: any counter in the city serves any resident who presents their identity document
        basis = ReadBasis.counter("一网通办综合窗口：申请人出示了身份证件", id_number)
        person = registries.person_by_id_number(
            session, principal, id_number, "一网通办综合窗口：核验申请人身份", basis=basis
        )
        channel, reader, proxy = Channel.COUNTER, principal, None
    else:
        me = linked_person(session, principal)
        if id_number and id_number.strip().upper() != me.id_number:
            proven = relations.prove(session, me, id_number=id_number, items=items, account=principal.ref)
            if proven is None:
                raise PermissionDenied(relations.missing_proof(items))
            basis = proven
            person = registries.person_by_id_number(
                session,
                AGENT,
                id_number.strip().upper(),
                f"一网通办代办申请（{proven.relation}，申请账号 {principal.name}）",
                basis=basis,
            )
            channel, reader, proxy = Channel.PROXY, AGENT, me
        else:
            person, channel, reader, proxy = me, Channel.ONLINE, AGENT, None
            basis = ReadBasis.own(me.id, principal.ref)
    firm = None
    if applicant_kind == HolderKind.LEGAL_PERSON:
        if not uscc:
            raise InvalidInput("this item is applied for by a firm: give its unified social credit code (uscc)")
        firm = registries.legal_person_by_uscc(session, AGENT, uscc)
        if firm.legal_rep_id != person.id:
            raise PermissionDenied(
                "only the firm's legal representative (or a clerk or proxy on their behalf) applies for it"
            )
    return Applicant(
        person=person,
        firm=firm,
        channel=channel,
        reader=reader,
        basis=basis,
        proxy=proxy,
        proxy_relation=(basis.relation if basis.kind is BasisKind.REPRESENTATION else None),
    )
