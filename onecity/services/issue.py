"""The workflow's ``issue`` step: what an approval produces.

An approved item that yields a certificate puts it into the hub's certificate registry
(:func:`onecity.hub.registries.service.issue_certificate`), so the next application finds it
and does not ask for it (the exemption loop closes), then signs it as a W3C verifiable
credential (:func:`onecity.credentials.service.issue_for_certificate`). Items whose approval
creates a registry record do that first: company establishment registers the firm (then
its business licence), birth registration registers the newborn.

Registry writes that need the registrar's role (new firms, births) are made by the platform
agent on the approver's decision; the certificate and the credential are issued by the
approver themself, so the audit log names who decided.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.core.identity.principal import Principal, system_principal
from onecity.credentials.service import issue_for_certificate
from onecity.hub.registries import life_events, relations
from onecity.hub.registries import service as registries
from onecity.hub.registries.certtypes import SPECS
from onecity.hub.registries.models import HolderKind, LegalPerson, Person, PersonRelation, RelationKind
from onecity.services import catalogue
from onecity.services.models import Case

REGISTRAR = system_principal("services:registrar")
COMPANY_ESTABLISHMENT = "310000-01-00012-001"
BIRTH_REGISTRATION = "310000-07-00062-001"


def _surface(type_code: str, form: dict[str, Any]) -> dict[str, Any]:
    """The certificate's surface fields (GB/T 36903 照面信息) that the form holds."""
    spec = SPECS.get(type_code)
    names = {n for n, _zh, _t in spec.surface} if spec else set()
    aliases = {
        "premises": "premises_address",
        "business_items": "business_items",
        "spouse_name": "spouse_name",
        "spouse_id_number": "spouse_id_number",
        "vehicle_class": "vehicle_class",
    }
    out = {n: form[aliases.get(n, n)] for n in names if aliases.get(n, n) in form}
    return out


def _register_firm(session: Session, case: Case) -> LegalPerson:
    form = case.form
    person = session.get(Person, case.person_id)
    assert person is not None
    division = person.division_code
    body = "".join(secrets.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    return life_events.register_firm(
        session,
        REGISTRAR,
        name=str(form["proposed_name"]),
        kind="91",
        org_body=body,
        industry=str(form["industry"]),
        legal_rep_id=person.id,
        division_code=division,
        address=str(form.get("premises_address") or person.address),
        registered_capital=float(form.get("registered_capital") or 0),
    )


def _register_birth(session: Session, case: Case) -> Person:
    form = case.form
    parent = session.get(Person, case.person_id)
    assert parent is not None
    reported = session.scalar(  # the hospital's birth report already put the newborn in the registry
        select(Person)
        .join(PersonRelation, PersonRelation.person_id == Person.id)
        .where(
            PersonRelation.relative_id == parent.id,
            PersonRelation.kind == RelationKind.PARENT,
            Person.name == str(form["child_name"]),
            Person.birth_date == date.fromisoformat(str(form["child_birth_date"])),
        )
        .limit(1)
    )
    if reported is not None:
        return reported
    child = life_events.register_birth(
        session,
        REGISTRAR,
        name=str(form["child_name"]),
        male=form.get("child_sex") == "M",
        birth_date=date.fromisoformat(str(form["child_birth_date"])),
        division_code=parent.division_code,
        address=parent.address,
        hukou_region=parent.hukou_region,
    )
    # the registration names the applicant as the child's parent: they act for the child until 18
    relations.record_relation(
        session,
        REGISTRAR,
        person_id=child.id,
        relative_id=parent.id,
        kind=RelationKind.PARENT,
        source=f"birth registration, case {case.number}",
    )
    return child


def issue(session: Session, principal: Principal, case: Case) -> None:
    """Produce what the approval of ``case`` yields; records the certificate and credential on the case."""
    it = catalogue.item(case.item_code)
    if it.code == BIRTH_REGISTRATION:
        _register_birth(session, case)
    holder_kind, holder_id = (
        (HolderKind.LEGAL_PERSON, case.legal_person_id) if case.legal_person_id else (HolderKind.PERSON, case.person_id)
    )
    if it.code == COMPANY_ESTABLISHMENT:
        firm = _register_firm(session, case)
        holder_kind, holder_id = HolderKind.LEGAL_PERSON, firm.id
    if it.certificate_type is None or holder_id is None:
        return
    dept = catalogue.department(it.department)
    today = clock.local(clock.now()).date()
    cert = registries.issue_certificate(
        session,
        principal,
        type_code=it.certificate_type,
        holder_kind=holder_kind,
        holder_id=holder_id,
        number=f"{SPECS[it.certificate_type].type_code_36905}-{case.number}",
        issuer=dept["name"],
        issued_on=today,
        data={**_surface(it.certificate_type, case.form), "case": case.number},
        reason=f"case {case.number} approved",
    )
    case.certificate_id = cert.id
    case.credential_id = issue_for_certificate(session, principal, cert.id).id
