"""Applications on every channel, one case file: drafts, prefill, materials, submission, workflow steps.

Every state change is one function running the platform's sequence — check who may act
and the case's state, lock the case row, save, write the case history and the audit log,
publish events — inside the caller's transaction. The case history (:class:`CaseEvent`)
records the channel of each step, so a case started online and continued at a counter (or
the other way round) has one history.

Who acts on a case:

* the **applicant** online (a citizen whose account is linked to their person record; for a
  firm, its legal representative), channel ``online``;
* a **proven proxy** with their own linked account, channel ``proxy``: a relation the registries
  know (parent of a minor, guardian, household member) or a registered power of attorney the
  applicant granted (:mod:`onecity.hub.registries.relations`). Until one is found nothing about the
  applicant is read and no draft is made; the free-text ``proxy_relation`` proves nothing;
* a **counter clerk** whose division covers the applicant's, after checking the
  applicant's identity document, channel ``counter``.

The two exemptions (两个免于提交): when a draft is made, the applicant's registry facts and
valid certificates are read through the hub's audited read paths; form fields are prefilled
with their source recorded, and each material a certificate or registry fact stands in for
is attached as ``held``. What is still missing is told once, all at once (一次性告知): on
the draft, and again by the clerk when asking for supplements.

Reads on the applicant's own behalf (online and proxy) are made by the platform agent
``system:services:one-stop``, which has no official duty of its own: it reads only with the
applicant's own basis (their linked account) or a proven representation, and the audit entry
names the acting account and, for a proxy, the relation in words.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onecity.core import audit, clock, events, policy, workdays
from onecity.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from onecity.core.identity.models import Agency
from onecity.core.identity.principal import Principal, system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.registries import relations
from onecity.hub.registries import service as registries
from onecity.hub.registries.models import Certificate, CertificateStatus, HolderKind, LegalPerson, Person
from onecity.hub.registries.relations import BasisKind, ReadBasis
from onecity.hub.sharing.models import ResidentLink
from onecity.services import advice, catalogue, workflow
from onecity.services.catalogue import PROXY_MATERIAL, Item
from onecity.services.events import (
    CASE_DECIDED,
    CASE_SUBMITTED,
    RATING_COMPLAINT,
    CaseDecided,
    CaseSubmitted,
    ComplaintRated,
)
from onecity.services.models import (
    DONE_STATUSES,
    BundleApplication,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    Document,
    MaterialState,
    Rating,
    WorkItem,
    WorkStatus,
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
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
APPLICANT_ROLE = workflow.APPLICANT


# -- who is acting --------------------------------------------------------------------------


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


def _channel_of(session: Session, principal: Principal, case: Case) -> Channel:
    """The channel this principal acts on the case through; refuses anyone else."""
    if principal.kind is PrincipalKind.STAFF:
        policy.require(principal, "services.case.counter")
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


# -- reading what the government already holds ---------------------------------------------------


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
            }
        )
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


def _prefill(it_fields: list[str], facts: Facts) -> tuple[dict[str, Any], dict[str, str]]:
    form: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in it_fields:
        source = catalogue.field(name).get("x-prefill")
        if source and source in facts.values:
            form[name] = facts.values[source]
            sources[name] = source
    return form, sources


def _materials(
    codes: list[str], facts: Facts, applicant_kind: str, basis: ReadBasis | None = None
) -> list[dict[str, Any]]:
    out = []
    for code in codes:
        spec = catalogue.material(code)
        entry: dict[str, Any] = {
            "code": code,
            "name": spec.name,
            "name_en": spec.name_en,
            "state": MaterialState.MISSING.value,
            "source": None,
            "ref": None,
        }
        stand = spec.stands_in or ""
        if stand.startswith("cert:") and stand[5:] in facts.certificates:
            cert = facts.certificates[stand[5:]]
            entry.update(state=MaterialState.HELD.value, source=stand, ref=str(cert.id), number=cert.number)
        elif stand == "registry:person":
            entry.update(state=MaterialState.HELD.value, source=stand, ref=facts.values["person.id_number"])
        elif stand == "registry:legal_person" and "firm.uscc" in facts.values:
            entry.update(state=MaterialState.HELD.value, source=stand, ref=facts.values["firm.uscc"])
        elif code == PROXY_MATERIAL and basis is not None and basis.kind is BasisKind.REPRESENTATION:
            # the registry proved the representation: the power of attorney (or the relation) is held
            source = (
                "registry:power_of_attorney" if basis.relation == relations.POWER_OF_ATTORNEY else "registry:relation"
            )
            entry.update(state=MaterialState.HELD.value, source=source, ref=basis.proof_id, relation=basis.relation)
        out.append(entry)
    return out


def missing_materials(case: Case) -> list[dict[str, Any]]:
    """The one-time notice (一次性告知): every material still to be provided, all at once."""
    return [m for m in case.materials if m["state"] in (MaterialState.MISSING, MaterialState.REJECTED)]


# -- history -------------------------------------------------------------------------------------


def log_event(
    session: Session, principal: Principal, case: Case, channel: str, action: str, detail: dict[str, Any] | None = None
) -> None:
    """One history entry of a case and its audit record (the pre-review writes its own too)."""
    now = clock.now()
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            actor=principal.ref,
            actor_name=principal.name,
            channel=channel,
            action=action,
            detail=detail or {},
        )
    )
    audit.record(
        session,
        principal,
        f"services.case.{action}",
        object_type="case",
        object_id=case.id,
        subject=f"person:{case.person_id}" if case.person_id is not None else None,
        division_code=case.division_code,
        detail={"number": case.number, "item": case.item_code, "channel": channel, **(detail or {})},
    )


def _locked(session: Session, case_id: str) -> Case:
    case = session.scalar(select(Case).where(Case.id == case_id).with_for_update())
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


def _number() -> str:
    return f"{clock.local(clock.now()):%Y%m%d}{secrets.token_hex(4).upper()}"


# -- starting a case -----------------------------------------------------------------------------


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
        basis = ReadBasis.duty("一网通办 counter service: the applicant presented their identity document")
        person = registries.person_by_id_number(
            session, principal, id_number, "一网通办 counter: identify the applicant", basis=basis
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
                f"一网通办 proxy application by {principal.ref} ({proven.relation})",
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


def new_case(
    session: Session, principal: Principal, it: Item, who: Applicant, facts: Facts, bundle_id: str | None = None
) -> Case:
    form, sources = _prefill(list(it.fields), facts)
    codes = list(it.materials) + ([PROXY_MATERIAL] if who.channel is Channel.PROXY else [])
    materials = _materials(codes, facts, it.applicant_kind, who.basis)
    holder_firm = who.firm
    case = Case(
        number=_number(),
        item_code=it.code,
        department=it.department,
        bundle_id=bundle_id,
        applicant_kind=it.applicant_kind,
        person_id=who.person.id,
        legal_person_id=holder_firm.id if holder_firm else None,
        applicant_identifier=holder_firm.uscc if holder_firm else who.person.id_number,
        applicant_name=holder_firm.name if holder_firm else who.person.name,
        division_code=holder_firm.division_code if holder_firm else who.person.division_code,
        channel=who.channel,
        proxy_person_id=who.proxy.id if who.proxy else None,
        proxy_relation=who.proxy_relation,
        created_by=principal.ref,
        status=CaseStatus.DRAFT,
        form=form,
        prefill=sources,
        materials=materials,
        fields_total=len(it.fields),
        fields_prefilled=len(sources),
        materials_total=len(materials),
        materials_held=sum(1 for m in materials if m["state"] == MaterialState.HELD),
        time_limit_days=it.time_limit_days,
    )
    session.add(case)
    session.flush()
    log_event(
        session,
        principal,
        case,
        who.channel,
        "drafted",
        {
            "prefilled": sorted(sources),
            "held": [m["code"] for m in materials if m["state"] == MaterialState.HELD],
            "missing": [m["code"] for m in missing_materials(case)],
            **({"proxy_relation": who.proxy_relation, "proof": who.basis.proof_id} if who.proxy_relation else {}),
        },
    )
    return case


def start_case(
    session: Session,
    principal: Principal,
    item_code: str,
    *,
    id_number: str | None = None,
    uscc: str | None = None,
    identity_checked: bool = False,
    proxy_relation: str | None = None,
) -> Case:
    """A draft case for an item, prefilled from the registries, with held materials attached."""
    it = catalogue.item(item_code)
    who = resolve_applicant(
        session,
        principal,
        applicant_kind=it.applicant_kind,
        id_number=id_number,
        uscc=uscc,
        identity_checked=identity_checked,
        proxy_relation=proxy_relation,
        items=(it.code,),
    )
    if who.channel.value not in it.channels:
        raise InvalidInput(f"{it.name_en} cannot be applied for on the {who.channel} channel")
    facts = applicant_facts(
        session,
        who.reader,
        who.person,
        who.firm,
        f"一网通办 prefill: {it.code} for {who.person.id_number[:6]}… (acting: {principal.ref})",
        who.basis,
    )
    return new_case(session, principal, it, who, facts)


def get_case(session: Session, principal: Principal, case_id: str) -> Case:
    """A case, for its applicant, proxy, or staff whose area covers it (the read is audited)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if principal.kind is PrincipalKind.STAFF:
        policy.require(principal, "services.case.read")
        policy.require_in_scope(session, principal, "services.case", case.division_code)
        if case.person_id is not None:
            audit.personal_read(
                session,
                principal,
                "services.case.read",
                f"person:{case.person_id}",
                f"一网通办 case {case.number}",
                object_type="case",
                object_id=case.id,
                division_code=case.division_code,
            )
    else:
        _channel_of(session, principal, case)
    return case


def history(session: Session, case: Case) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))


def my_cases(session: Session, principal: Principal, limit: int = 100) -> list[Case]:
    """My own cases, and those I started for someone while I may still act for them."""
    person = linked_person(session, principal)
    rows = session.scalars(
        select(Case)
        .where((Case.person_id == person.id) | (Case.proxy_person_id == person.id))
        .order_by(Case.created_at.desc())
        .limit(limit)
    )
    return [
        c
        for c in rows
        if c.person_id == person.id
        or (c.person_id is not None and relations.represents(session, person, c.person_id, (c.item_code,)))
    ]


def cases_of_person(session: Session, principal: Principal, id_number: str, limit: int = 100) -> list[Case]:
    """Cases of one person, for the counter (continuing a case started online)."""
    policy.require(principal, "services.case.counter")
    person = registries.person_by_id_number(
        session,
        principal,
        id_number,
        "一网通办 counter: find the applicant's cases",
        basis=ReadBasis.duty("一网通办 counter service: continuing the applicant's cases"),
    )
    return list(
        session.scalars(select(Case).where(Case.person_id == person.id).order_by(Case.created_at.desc()).limit(limit))
    )


# -- filling in ----------------------------------------------------------------------------------

LOCKED_SOURCES = frozenset({"person.id_number", "person.name", "firm.uscc", "firm.name"})


def update_form(session: Session, principal: Principal, case_id: str, values: dict[str, Any]) -> Case:
    """Change form fields of a draft (or a case waiting for supplements); identity fields stay as registered."""
    case = _locked(session, case_id)
    channel = _channel_of(session, principal, case)
    if case.status not in (CaseStatus.DRAFT, CaseStatus.SUPPLEMENT):
        raise Conflict(f"case {case.number} is {case.status}: the form can change only in a draft or a supplement")
    allowed = set(catalogue.item(case.item_code).fields)
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise InvalidInput(f"the form of {case.item_code} has no fields {unknown}; it has {sorted(allowed)}")
    locked = sorted(k for k in values if case.prefill.get(k) in LOCKED_SOURCES and values[k] != case.form.get(k))
    if locked:
        raise InvalidInput(
            f"{locked} come from the registry and identify the applicant; correct the registry "
            "record instead (at a counter)"
        )
    form, prefill = dict(case.form), dict(case.prefill)
    changed = []
    for key, value in values.items():
        if form.get(key) != value:
            changed.append(key)
            form[key] = value
            prefill.pop(key, None)  # the applicant's own value: no longer prefilled
    case.form, case.prefill, case.fields_prefilled = form, prefill, len(prefill)
    log_event(session, principal, case, channel, "form_updated", {"fields": sorted(changed)})
    return case


def attach_document(
    session: Session,
    principal: Principal,
    case_id: str,
    material_code: str,
    *,
    filename: str,
    content_type: str,
    content: bytes,
) -> Document:
    """Upload (online) or scan (at the counter) one material."""
    case = _locked(session, case_id)
    channel = _channel_of(session, principal, case)
    if case.status not in (CaseStatus.DRAFT, CaseStatus.SUPPLEMENT):
        raise Conflict(f"case {case.number} is {case.status}: materials are added to a draft or a supplement")
    if not content:
        raise InvalidInput("the document is empty")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(
            f"a document is at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB; scan at a lower resolution"
        )
    if not filename.strip() or len(filename) > 200:
        raise InvalidInput("give the document a file name of 1–200 characters")
    materials = [dict(m) for m in case.materials]
    entry = next((m for m in materials if m["code"] == material_code), None)
    if entry is None:
        raise InvalidInput(
            f"{case.item_code} does not ask for {material_code!r}; it asks for {[m['code'] for m in materials]}"
        )
    if entry["state"] == MaterialState.HELD:
        raise Conflict(f"{entry['name_en']} is already held by the government ({entry['source']}): no upload needed")
    digest = hashlib.sha256(content).hexdigest()
    doc = Document(
        case_id=case.id,
        material_code=material_code,
        filename=filename.strip(),
        content_type=content_type[:100] or "application/octet-stream",
        size=len(content),
        sha256=digest,
        content=content,
        uploaded_by=principal.ref,
        created_at=clock.now(),
    )
    session.add(doc)
    session.flush()
    entry.update(
        state=MaterialState.UPLOADED.value, source="upload" if channel != Channel.COUNTER else "scan", ref=doc.id
    )
    case.materials = materials
    log_event(
        session,
        principal,
        case,
        channel,
        "material_added",
        {"material": material_code, "sha256": digest, "size": len(content)},
    )
    return doc


def form_errors(case: Case, it: Item) -> list[dict[str, str]]:
    validator = Draft202012Validator(it.form_schema(), format_checker=FormatChecker())
    problems = sorted(validator.iter_errors(case.form), key=lambda e: list(e.path))
    return [{"field": ".".join(str(p) for p in e.path) or "(form)", "message": e.message} for e in problems]


def _require_complete(case: Case, it: Item) -> None:
    """One notice (一次性告知) of everything still wrong: the form's problems and the missing materials."""
    errors = form_errors(case, it)
    missing = missing_materials(case)
    if not errors and not missing:
        return
    parts = []
    if missing:
        parts.append(
            "materials still needed: " + "; ".join(f"{m['name']} / {m['name_en']} ({m['code']})" for m in missing)
        )
    if errors:
        parts.append("form: " + "; ".join(f"{d['field']}: {d['message']}" for d in errors))
    raise InvalidInput(
        "all at once (一次性告知) — " + " | ".join(parts), errors=errors, missing=[m["code"] for m in missing]
    )


# -- the workflow ---------------------------------------------------------------------------------


def _run_system_tasks(session: Session, principal: Principal, case: Case, wf: Any) -> None:
    while True:
        system = [t for t in workflow.ready_tasks(wf) if t.task_spec.name in workflow.SYSTEM_TASKS]
        if not system:
            return
        for task in system:
            if task.task_spec.name == "issue":
                from onecity.services.issue import issue

                issue(session, principal, case)
            workflow.complete(wf, task, {})


def _sync(session: Session, principal: Principal, case: Case, wf: Any) -> None:
    """Queue the workflow's ready user tasks, close the others, set the case status, save the state."""
    _run_system_tasks(session, principal, case, wf)
    it = catalogue.item(case.item_code)
    ready = {str(t.id): t for t in workflow.ready_tasks(wf)}
    now = clock.now()
    open_items = list(
        session.scalars(select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.status == WorkStatus.OPEN))
    )
    known = {w.task_id for w in open_items}
    for w in open_items:
        if w.task_id not in ready:
            w.status = WorkStatus.CANCELLED if w.done_at is None else w.status
    for task_id, task in ready.items():
        if task_id in known:
            continue
        name = task.task_spec.name
        lane = workflow.lane_of(task)
        dept = it.partner_department if lane == "partner" and it.partner_department else it.department
        session.add(
            WorkItem(
                case_id=case.id,
                task_id=task_id,
                task_name=name,
                department=dept,
                role=workflow.role_for(name),
                division_code=case.division_code,
                status=WorkStatus.OPEN,
                created_at=now,
            )
        )
    names = {t.task_spec.name for t in ready.values()}
    if workflow.finished(wf):
        pass  # the decision set the final status
    elif "supplement" in names:
        case.status = CaseStatus.SUPPLEMENT
    elif case.accepted_at is not None:
        case.status = CaseStatus.IN_REVIEW
    else:
        case.status = CaseStatus.SUBMITTED
    case.workflow_state = workflow.dump(wf)
    session.flush()


def submit(session: Session, principal: Principal, case_id: str) -> Case:
    """Submit a complete draft: the form validates, every material is held or provided; the workflow starts."""
    case = _locked(session, case_id)
    channel = _channel_of(session, principal, case)
    if case.status != CaseStatus.DRAFT:
        raise Conflict(f"case {case.number} is {case.status}, not a draft")
    it = catalogue.item(case.item_code)
    _require_complete(case, it)
    case.submitted_at = clock.now()
    wf = workflow.start(it.workflow)
    log_event(session, principal, case, channel, "submitted", {"workflow": it.workflow})
    _sync(session, principal, case, wf)
    events.publish(
        session,
        CASE_SUBMITTED,
        CaseSubmitted(
            case_id=case.id,
            number=case.number,
            item_code=case.item_code,
            department=case.department,
            channel=str(channel),
            division_code=case.division_code,
        ),
        principal=principal,
        reason="case submitted",
    )
    return case


def resubmit(session: Session, principal: Principal, case_id: str) -> Case:
    """Hand the supplemented materials back: the clerk accepts again."""
    case = _locked(session, case_id)
    channel = _channel_of(session, principal, case)
    if case.status != CaseStatus.SUPPLEMENT:
        raise Conflict(f"case {case.number} is {case.status}: nothing was asked to be supplemented")
    _require_complete(case, catalogue.item(case.item_code))
    wf = workflow.load(case.workflow_state or "")
    task = next((t for t in workflow.ready_tasks(wf) if t.task_spec.name == "supplement"), None)
    if task is None:
        raise Conflict(f"case {case.number}'s workflow is not waiting for a supplement")
    for w in session.scalars(select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.task_id == str(task.id))):
        w.status, w.done_at, w.done_by, w.outcome = WorkStatus.DONE, clock.now(), principal.ref, "supplied"
    workflow.complete(wf, task, {})
    log_event(session, principal, case, channel, "supplemented", {})
    _sync(session, principal, case, wf)
    events.publish(
        session,
        CASE_SUBMITTED,
        CaseSubmitted(
            case_id=case.id,
            number=case.number,
            item_code=case.item_code,
            department=case.department,
            channel=str(channel),
            division_code=case.division_code,
            resubmitted=True,
        ),
        principal=principal,
        reason="case supplemented",
    )
    return case


def withdraw(session: Session, principal: Principal, case_id: str, reason: str) -> Case:
    """The applicant (or a clerk or proxy for them) withdraws a case not yet decided."""
    case = _locked(session, case_id)
    channel = _channel_of(session, principal, case)
    if case.status in DONE_STATUSES or case.status == CaseStatus.WITHDRAWN:
        raise Conflict(f"case {case.number} is already {case.status}")
    if not reason or not reason.strip():
        raise InvalidInput("say why the case is withdrawn")
    if case.workflow_state:
        wf = workflow.load(case.workflow_state)
        workflow.cancel(wf)
        case.workflow_state = workflow.dump(wf)
    for w in session.scalars(select(WorkItem).where(WorkItem.case_id == case.id, WorkItem.status == WorkStatus.OPEN)):
        w.status = WorkStatus.CANCELLED
    case.status = CaseStatus.WITHDRAWN
    log_event(session, principal, case, channel, "withdrawn", {"reason": reason.strip()[:300]})
    return case


# -- work queues ----------------------------------------------------------------------------------


def work_queue(session: Session, principal: Principal, limit: int = 100) -> list[tuple[WorkItem, Case]]:
    """Open tasks for the principal's roles, in their department (agency lineage) and division."""
    policy.require(principal, "services.work.list")
    departments = department_codes(session, principal)
    roles = [r.value for r in principal.roles if r in STAFF_ROLES]
    rows = session.execute(
        select(WorkItem, Case)
        .join(Case, Case.id == WorkItem.case_id)
        .where(
            WorkItem.status == WorkStatus.OPEN,
            WorkItem.role.in_(roles),
            WorkItem.department.in_(departments),
            policy.scope_clause(session, principal, "services.case", WorkItem.division_code),
        )
        .order_by(Case.due_on.is_(None), Case.due_on, WorkItem.created_at)
        .limit(limit)
    ).all()
    # the queue shows applicants' names: each listed case is a read of its applicant's data
    audit.record_many(
        session,
        principal,
        "services.case.queued_read",
        [
            audit.BatchEntry(
                object_type="case",
                object_id=c.id,
                subject=f"person:{c.person_id}",
                division_code=c.division_code,
                detail={"number": c.number, "task": w.task_name},
            )
            for w, c in rows
            if c.person_id is not None
        ],
        purpose="一网通办 work queue",
    )
    return [(w, c) for w, c in rows]


OUTCOMES = {"accept": ("accept", "supplement"), "review": ("pass", "fail"), "decide": ("approve", "refuse")}


def complete_task(
    session: Session,
    principal: Principal,
    work_item_id: str,
    outcome: str,
    *,
    reason: str = "",
    missing: list[str] | None = None,
) -> Case:
    """Do one queued task: accept or ask for supplements, review, approve or refuse.

    A step against the AI pre-review's advice (accepting a case it said needs correction,
    approving one it suggested refusing, refusing one it pre-approved) needs a reason and is
    recorded as an override of the pre-review.
    """
    policy.require(principal, "services.work.complete")
    item_row = session.get(WorkItem, work_item_id)
    if item_row is None:
        raise NotFound(f"no work item {work_item_id}")
    case = _locked(session, item_row.case_id)
    session.refresh(item_row)
    if item_row.status != WorkStatus.OPEN:
        raise Conflict(f"this task was already {item_row.status} ({item_row.done_by or 'cancelled'})")
    if item_row.role == APPLICANT_ROLE:
        raise Conflict("this task is the applicant's: they hand in the supplements (resubmit)")
    if not principal.has_role(Role(item_row.role)):
        raise PermissionDenied(f"the {item_row.task_name} task is for a {item_row.role}")
    if item_row.department not in department_codes(session, principal):
        raise PermissionDenied(
            f"the {item_row.task_name} task is in the queue of {item_row.department}, not your agency's"
        )
    policy.require_in_scope(session, principal, "services.case", item_row.division_code)
    kind = _task_kind(item_row, outcome)
    review = advice.latest(session, case.id)
    if review is not None and advice.contradicts(review, kind, outcome):
        advice.record_override(session, principal, case, review, f"{kind}:{outcome}", reason)
    _perform(session, principal, item_row, case, outcome, reason=reason, missing=missing, channel=Channel.COUNTER.value)
    return case


def _task_kind(item_row: WorkItem, outcome: str) -> str:
    kind = next(k for k in OUTCOMES if item_row.task_name.startswith(k))
    if outcome not in OUTCOMES[kind]:
        raise InvalidInput(f"a {item_row.task_name} task ends with one of {list(OUTCOMES[kind])}, not {outcome!r}")
    return kind


def _perform(
    session: Session,
    principal: Principal,
    item_row: WorkItem,
    case: Case,
    outcome: str,
    *,
    reason: str,
    missing: list[str] | None,
    channel: str,
) -> None:
    """Carry out one task on a locked case, for whoever was allowed to (an officer, or the platform
    for a case approved unattended)."""
    kind = _task_kind(item_row, outcome)
    reason = (reason or "").strip()
    it = catalogue.item(case.item_code)
    data: dict[str, Any] = {}
    detail: dict[str, Any] = {"task": item_row.task_name, "outcome": outcome}
    now = clock.now()
    if kind == "accept":
        data["acceptance"] = outcome
        if outcome == "supplement":
            codes = [c for c in (missing or []) if c]
            known = {m["code"] for m in case.materials}
            wrong = sorted(set(codes) - known)
            if not codes or wrong:
                raise InvalidInput(
                    "name every material to supplement at once (一次性告知), from "
                    f"{sorted(known)}" + (f"; unknown: {wrong}" if wrong else "")
                )
            if not reason:
                raise InvalidInput("say what is wrong with the materials, so the applicant can fix it in one go")
            materials = [dict(m) for m in case.materials]
            for m in materials:
                if m["code"] in codes:
                    m["state"] = MaterialState.REJECTED.value
            case.materials = materials
            case.supplements += 1
            detail.update(missing=codes, reason=reason[:500])
        elif case.accepted_at is None:
            case.accepted_at = now
            accepted_on = clock.local(now).date()
            case.due_on = workdays.add_working_days(accepted_on, it.time_limit_days)
            if it.time_limit_days > 0:
                case.warn_on = workdays.add_working_days(accepted_on, math.ceil(0.8 * it.time_limit_days))
            detail["due_on"] = case.due_on.isoformat()
    elif kind == "review":
        if outcome == "fail" and not reason:
            raise InvalidInput("a failed review states its findings (reason)")
        data[f"review_{item_row.task_name}"] = outcome
        detail["reason"] = reason[:500]
    else:
        if outcome == "refuse" and not reason:
            raise InvalidInput("a refusal states its reasons; the legal basis is cited with them")
        data["decision"] = outcome
        _decide(case, it, outcome, reason, now)
        detail.update(reason=case.decision_reason, legal_basis=case.legal_basis)
    wf = workflow.load(case.workflow_state or "")
    task = workflow.find(wf, item_row.task_id)
    if task is None:
        raise Conflict("the workflow has moved on: this task is no longer waiting")
    item_row.status, item_row.done_at, item_row.done_by, item_row.outcome = WorkStatus.DONE, now, principal.ref, outcome
    log_event(session, principal, case, channel, f"task_{kind}", detail)
    workflow.complete(wf, task, data)
    _sync(session, principal, case, wf)
    if kind == "decide":
        events.publish(
            session,
            CASE_DECIDED,
            CaseDecided(
                case_id=case.id,
                number=case.number,
                item_code=case.item_code,
                department=case.department,
                decision=outcome,
                within_limit=bool(case.within_limit),
                certificate_id=case.certificate_id,
                credential_id=case.credential_id,
                division_code=case.division_code,
            ),
            principal=principal,
            reason=f"case {outcome}d",
        )
        _maybe_close_bundle(session, case)


#: The step the platform takes for each task of a case approved unattended.
UNATTENDED_OUTCOMES = {"accept": "accept", "review": "pass", "decide": "approve"}


def run_unattended(session: Session, principal: Principal, case: Case, reason: str) -> None:
    """Complete every officer's task of a locked, untouched case the way an approval would (无人干预):
    accept, pass the reviews, approve; the certificate is issued as for any approval."""
    for _ in range(10):  # a workflow shape has a handful of user tasks; never loop for ever
        open_items = list(
            session.scalars(
                select(WorkItem)
                .where(WorkItem.case_id == case.id, WorkItem.status == WorkStatus.OPEN, WorkItem.role != APPLICANT_ROLE)
                .order_by(WorkItem.created_at, WorkItem.id)
            )
        )
        if not open_items or case.status in DONE_STATUSES:
            return
        for item_row in open_items:
            kind = next(k for k in OUTCOMES if item_row.task_name.startswith(k))
            _perform(
                session,
                principal,
                item_row,
                case,
                UNATTENDED_OUTCOMES[kind],
                reason=reason,
                missing=None,
                channel="system",
            )
    raise Conflict(f"case {case.number}'s workflow did not finish unattended")


def _decide(case: Case, it: Item, outcome: str, reason: str, now: Any) -> None:
    case.decided_at = now
    case.status = CaseStatus.APPROVED if outcome == "approve" else CaseStatus.REFUSED
    decided_on = clock.local(now).date()
    start: date = clock.local(case.accepted_at or case.submitted_at or now).date()
    case.handling_days = workdays.working_days_between(start, decided_on)
    case.within_limit = case.due_on is None or decided_on <= case.due_on
    if outcome == "refuse":
        case.decision_reason = reason[:2000]
        case.legal_basis = it.refusal_basis
    else:
        case.decision_reason = reason[:2000] or "准予许可 / approved"
        case.legal_basis = it.legal_basis


def _maybe_close_bundle(session: Session, case: Case) -> None:
    """Fan-in: a bundle application is complete when every case it fanned out to is decided."""
    if case.bundle_id is None:
        return
    statuses = set(session.scalars(select(Case.status).where(Case.bundle_id == case.bundle_id)))
    if statuses <= set(DONE_STATUSES) | {CaseStatus.WITHDRAWN}:
        bundle = session.get(BundleApplication, case.bundle_id)
        if bundle is not None and bundle.completed_at is None:
            bundle.completed_at = clock.now()


def refresh_clocks(session: Session, today: date | None = None) -> dict[str, int]:
    """Set the 80 % warning and the overdue flag of open cases: two indexed updates, whatever the city's size.

    The working-day arithmetic is done once, at acceptance (``warn_on``, ``due_on``), so this
    runs on every workbench view and every simulated step without reading the cases.
    """
    today = today or clock.local(clock.now()).date()
    running = Case.status.in_([CaseStatus.IN_REVIEW, CaseStatus.SUPPLEMENT])
    warned = session.execute(
        update(Case)
        .where(running, Case.warned.is_(False), Case.warn_on.is_not(None), Case.warn_on <= today)
        .values(warned=True)
        .execution_options(synchronize_session=False)
    )
    overdue = session.execute(
        update(Case)
        .where(running, Case.overdue.is_(False), Case.due_on.is_not(None), Case.due_on < today)
        .values(overdue=True)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return {"warned": int(warned.rowcount or 0), "overdue": int(overdue.rowcount or 0)}  # type: ignore[attr-defined]


# -- ratings (好差评) ------------------------------------------------------------------------------


def rate(session: Session, principal: Principal, case_id: str, stars: int, comment: str = "") -> Rating:
    """Rate a completed case once; 1–2 stars with a complaint becomes a hotline work order."""
    case = _locked(session, case_id)
    channel = _channel_of(session, principal, case)
    if case.status not in DONE_STATUSES:
        raise Conflict(f"case {case.number} is {case.status}: rate it once it is decided")
    if not 1 <= stars <= 5:
        raise InvalidInput("stars are 1 to 5")
    if session.scalar(select(Rating.id).where(Rating.case_id == case.id)) is not None:
        raise Conflict(f"case {case.number} was already rated")
    comment = (comment or "").strip()[:1000]
    complaint = stars <= 2 and bool(comment)
    now = clock.now()
    rating = Rating(
        case_id=case.id,
        item_code=case.item_code,
        department=case.department,
        division_code=case.division_code,
        channel=str(case.channel),
        stars=stars,
        comment=comment,
        rated_by=principal.ref,
        created_at=now,
        follow_up="open" if complaint else "none",
    )
    session.add(rating)
    session.flush()
    log_event(session, principal, case, channel, "rated", {"stars": stars, "complaint": complaint})
    if complaint:
        it = catalogue.item(case.item_code)
        events.publish(
            session,
            RATING_COMPLAINT,
            ComplaintRated(
                rating_id=rating.id,
                case_id=case.id,
                item_code=case.item_code,
                item_name=it.name,
                agency_code=case.department,
                stars=stars,
                channel=str(case.channel),
                comment=comment,
                division_code=case.division_code,
                rated_at=now,
            ),
            principal=principal,
            reason="差评 complaint",
        )
    return rating


def close_follow_up(session: Session, principal: Principal, rating_id: str, note: str) -> Rating:
    """Record how a complaint was followed up (整改反馈): public with the department's ratings."""
    policy.require(principal, "services.rating.follow_up")
    rating = session.scalar(select(Rating).where(Rating.id == rating_id).with_for_update())
    if rating is None:
        raise NotFound(f"no rating {rating_id}")
    if rating.department not in department_codes(session, principal):
        raise PermissionDenied("only the rated department follows its ratings up")
    policy.require_in_scope(session, principal, "services.case", rating.division_code)
    if rating.follow_up != "open":
        raise Conflict("this rating has no open follow-up")
    if not note or not note.strip():
        raise InvalidInput("say what was done about the complaint")
    rating.follow_up, rating.follow_up_note = "closed", note.strip()[:1000]
    audit.record(
        session,
        principal,
        "services.rating.followed_up",
        object_type="rating",
        object_id=rating.id,
        division_code=rating.division_code,
        detail={"case": rating.case_id},
    )
    return rating


# -- departments ------------------------------------------------------------------------------------


def install_departments(session: Session, principal: Principal) -> int:
    """Create the catalogue's departments as municipal agencies where missing; returns how many were made."""
    from onecity.core.divisions import MUNICIPALITY_CODE
    from onecity.core.identity import service as identity

    made = 0
    for code, dept in catalogue.departments().items():
        if session.scalar(select(Agency.id).where(Agency.code == code)) is None:
            identity.create_agency(
                session,
                principal,
                code=code,
                name=dept["name"],
                name_en=dept["name_en"],
                division_code=MUNICIPALITY_CODE,
            )
            made += 1
    return made
