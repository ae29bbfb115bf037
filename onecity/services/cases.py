"""A case file: its history, starting one (prefilled, with held materials), reading it, filling it in.

Every change is written to the case history (:class:`CaseEvent`) and the audit log, on the
channel it came through: a change of the case's status by :func:`begin_step` and
:func:`record_step` (the platform's transition helper, :mod:`onecity.core.transition`, which
also publishes its event), any other change by :func:`log_event`.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, TypeVar

from jsonschema import Draft202012Validator, FormatChecker
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import audit, clock, events, policy, transition
from onecity.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Words
from onecity.core.events import EventType
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind
from onecity.core.transition import Change
from onecity.hub.registries import relations
from onecity.hub.registries import service as registries
from onecity.hub.registries.relations import BasisKind, ReadBasis
from onecity.services import catalogue, fields, keptuploads, uploads, uploadstate
from onecity.services.applicants import (
    Applicant,
    Facts,
    applicant_facts,
    channel_of,
    department_codes,
    linked_person,
    received_here,
    resolve_applicant,
)
from onecity.services.catalogue import PROXY_MATERIAL, Item
from onecity.services.events import MATERIAL_UPLOADED, MaterialUploaded
from onecity.services.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    Document,
    KeptUpload,
    MaterialState,
)

MAX_DOCUMENT_BYTES = uploads.MAX_BYTES


def _prefill(it_fields: list[str], facts: Facts) -> tuple[dict[str, Any], dict[str, str]]:
    form: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in it_fields:
        spec = catalogue.field(name)
        source = spec.get("x-prefill")
        if not source or source not in facts.values:
            continue
        value = facts.values[source]
        # a registry value the field would refuse (a name longer than a sign's text, a class not asked
        # for) is left to the applicant rather than prefilled and then refused on save
        if ("enum" in spec and value not in spec["enum"]) or (
            isinstance(value, str) and len(value) > spec.get("maxLength", len(value))
        ):
            continue
        form[name] = value
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
        elif stand.startswith("registry:") and facts.values.get(stand[9:]) not in (None, ""):
            # a fact another registry holds for the applicant (the bank account their benefits are paid
            # into, the employer paying their contributions, on the social insurance record): the copy
            # of the card, or of the employment contract, is not asked for
            entry.update(state=MaterialState.HELD.value, source=stand, ref=stand[9:])
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


def _history_entry(
    session: Session, principal: Principal, case: Case, channel: str, action: str, detail: dict[str, Any] | None
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id,
            at=clock.now(),
            actor=principal.ref,
            actor_name=principal.name,
            channel=channel,
            action=action,
            detail=detail or {},
        )
    )


def log_event(
    session: Session, principal: Principal, case: Case, channel: str, action: str, detail: dict[str, Any] | None = None
) -> None:
    """One history entry of a case and its audit record, for a change that leaves its status as it
    was (a form filled in, a material added, a pre-review); status changes go through :func:`record_step`."""
    _history_entry(session, principal, case, channel, action, detail)
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


def lock_case(session: Session, case_id: str) -> Case:
    return transition.lock(session, Case, case_id, missing=f"no case {case_id}")


def _person_of(case: Case) -> str | None:
    return f"person:{case.person_id}" if case.person_id is not None else None


def _number_of(case: Case) -> str:
    return case.number


#: A case's states, as the transition helper names them (the pages in the reader's language).
CASES = transition.Machine(
    Case,
    object_type="case",
    noun="services.case.noun",
    states="services.status.",
    label="case",
    name=_number_of,
    subject=_person_of,
)


def begin_step(
    session: Session, principal: Principal, case_id: str, *allowed: CaseStatus, doing: str
) -> tuple[Change[Case], Channel]:
    """Policy → lock → who may act on it (and through which channel) → state: a step of one case.

    Staff act at the counter (``services.case.counter``, checked before the case is read);
    the applicant or their proven proxy act on their own case, which the guard checks.
    """
    channels: list[Channel] = []

    def guard(session: Session, principal: Principal, case: Case) -> None:
        channels.append(channel_of(session, principal, case))

    change = transition.begin(
        session,
        principal,
        CASES,
        case_id,
        action="services.case.counter" if principal.kind is PrincipalKind.STAFF else None,
        guard=guard,
        allowed=allowed or None,
        missing=f"no case {case_id}",
        doing=doing,
    )
    return change, channels[0]


E = TypeVar("E", bound=BaseModel)


def record_step(
    change: Change[Case],
    channel: str,
    action: str,
    event: EventType[E],
    payload: E,
    *,
    reason: str,
    detail: dict[str, Any] | None = None,
    principal: Principal | None = None,
) -> None:
    """The case history's entry of a status change, then its audit entry (from/to) and its event."""
    case, who = change.row, principal or change.principal
    _history_entry(change.session, who, case, channel, action, detail)
    change.done(
        f"services.case.{action}",
        event,
        payload,
        principal=who,
        reason=reason,
        detail={"number": case.number, "item": case.item_code, "channel": channel, **(detail or {})},
    )


def _number() -> str:
    return f"{clock.local(clock.now()):%Y%m%d}{secrets.token_hex(4).upper()}"


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
    offer: dict[str, Any] | None = None,
    purpose: str | None = None,
) -> Case:
    """A draft case for an item, prefilled from the registries, with held materials attached.

    ``offer``: the values of a proactive-benefit offer being taken up (``offer.policy``,
    ``offer.amount``), prefilled like registry facts; a proactive item is started only so.
    ``purpose``: the purpose the registry reads are audited with, when it is not an application
    (a proactive benefit's); the applicant's account is named in it either way.
    """
    it = catalogue.item(item_code)
    if it.proactive and not offer:
        raise InvalidInput(
            f"{it.name_en} is not applied for: it is granted from an offer; take up your offers on /benefits/offers"
        )
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
        f"{purpose or '一网通办申请预填：' + it.name}（申请账号 {principal.name}）",
        who.basis,
    )
    if offer:
        facts.values.update({f"offer.{k}": v for k, v in offer.items()})
    return new_case(session, principal, it, who, facts)


def get_case(session: Session, principal: Principal, case_id: str) -> Case:
    """A case, for its applicant, proxy, or staff whose area covers it (the read is audited)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if principal.kind is PrincipalKind.STAFF:
        policy.require(principal, "services.case.read")
        if not received_here(principal, case):
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
        channel_of(session, principal, case)
    return case


def _kept_upload(session: Session, case: Case, document_id: str) -> KeptUpload | None:
    """A kept upload (failed an authenticity check, replaced before submission) the case shows: its own,
    or one of a draft the same applicant deleted, for the same department."""
    kept = session.get(KeptUpload, document_id)
    if kept is None or kept.case_id == case.id:
        return kept
    same_applicant = kept.applicant_identifier == case.applicant_identifier or (
        case.person_id is not None and kept.person_id == case.person_id
    )
    if kept.case_id is None and same_applicant and kept.department == case.department:
        return kept
    return None


def read_document(session: Session, principal: Principal, case_id: str, document_id: str) -> Document | KeptUpload:
    """An upload of a case, to open: for its applicant or proxy, and for staff of the departments
    handling the case (its own, its partner's) in whose area it is, or the clerk who received it.
    Every opening is audited as a read of the applicant's data. An upload kept for failing an
    authenticity check (:mod:`onecity.services.keptuploads`) opens the same way, to the same readers."""
    case = get_case(session, principal, case_id)
    doc: Document | KeptUpload | None = session.get(Document, document_id)
    if doc is None or doc.case_id != case.id:
        doc = _kept_upload(session, case, document_id)
    if doc is None:
        raise NotFound(f"no document {document_id} in case {case.number}", words=Words("services.docs.missing"))
    if principal.kind is PrincipalKind.STAFF and not received_here(principal, case):
        it = catalogue.item(case.item_code)
        handling = {case.department} | ({it.partner_department} if it.partner_department else set())
        if not handling & department_codes(session, principal):
            raise PermissionDenied(
                f"the materials of case {case.number} are read by the departments handling it "
                f"({', '.join(sorted(handling))})"
            )
    kind = "kept_upload" if isinstance(doc, KeptUpload) else "document"
    purpose = f"一网通办 case {case.number}"  # the upload is the entry's object
    if case.person_id is not None:
        audit.personal_read(
            session,
            principal,
            "services.case.document_read",
            f"person:{case.person_id}",
            purpose,
            object_type=kind,
            object_id=doc.id,
            division_code=case.division_code,
        )
    else:
        audit.record(
            session,
            principal,
            "services.case.document_read",
            object_type=kind,
            object_id=doc.id,
            purpose=purpose,
            division_code=case.division_code,
        )
    return doc


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


def cases_of_person(
    session: Session, principal: Principal, id_number: str, limit: int = 100, *, identity_checked: bool = False
) -> list[Case]:
    """Cases of one person, for the counter (continuing a case started online): in the clerk's area,
    or anywhere in the city once the clerk has checked the identity document of the person present."""
    policy.require(principal, "services.case.counter")
    basis = (
        ReadBasis.counter(
            "一网通办 counter service: continuing the applicant's cases, identity document checked", id_number
        )
        if identity_checked
        else ReadBasis.duty("一网通办 counter service: continuing the applicant's cases")
    )
    person = registries.person_by_id_number(
        session, principal, id_number, "一网通办 counter: find the applicant's cases", basis=basis
    )
    return list(
        session.scalars(select(Case).where(Case.person_id == person.id).order_by(Case.created_at.desc()).limit(limit))
    )


LOCKED_SOURCES = frozenset({"person.id_number", "person.name", "firm.uscc", "firm.name"})


def update_form(session: Session, principal: Principal, case_id: str, values: dict[str, Any]) -> Case:
    """Change form fields of a draft (or a case waiting for supplements); identity fields stay as registered."""
    case = lock_case(session, case_id)
    channel = channel_of(session, principal, case)
    if case.status not in (CaseStatus.DRAFT, CaseStatus.SUPPLEMENT):
        raise Conflict(f"case {case.number} is {case.status}: the form can change only in a draft or a supplement")
    allowed = set(catalogue.item(case.item_code).fields)
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise InvalidInput(f"the form of {case.item_code} has no fields {unknown}; it has {sorted(allowed)}")
    locked = sorted(
        k
        for k in values
        if case.prefill.get(k) in LOCKED_SOURCES
        and not catalogue.field(k).get("x-default")  # a proposed choice (a sign's text): the applicant's to change
        and values[k] != case.form.get(k)
    )
    if locked:
        raise InvalidInput(
            f"{locked} come from the registry and identify the applicant; correct the registry "
            "record instead (at a counter)",
            words=Words("services.field.summary", {"count": str(len(locked))}),
            fields={k: Words("services.field.locked") for k in locked},
        )
    fields.check(values)  # too long, not a number, out of range…: refused with the limit, never cut
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
    """Upload (online) or scan (at the counter) one material, or replace the one uploaded before.

    The file must be a PDF, JPEG or PNG by its content (:func:`uploads.checked`); the type kept
    is the one found, whatever ``content_type`` the browser claimed. A replaced upload of a
    draft is deleted (nobody else has seen it), unless its check flagged an authenticity failure:
    then it is kept for the officer (:mod:`keptuploads`) in this transaction; in a supplement the
    earlier one stays, as what was handed in.
    """
    media_type = uploads.checked(filename, content)  # before the lock: opening a PDF is slow work
    del content_type  # the claim is not kept: the content said what the file is
    case = lock_case(session, case_id)
    channel = channel_of(session, principal, case)
    if case.status not in (CaseStatus.DRAFT, CaseStatus.SUPPLEMENT):
        raise Conflict(f"case {case.number} is {case.status}: materials are added to a draft or a supplement")
    materials = [dict(m) for m in case.materials]
    entry = next((m for m in materials if m["code"] == material_code), None)
    if entry is None:
        raise InvalidInput(
            f"{case.item_code} does not ask for {material_code!r}; it asks for {[m['code'] for m in materials]}"
        )
    if entry["state"] == MaterialState.HELD:
        raise Conflict(f"{entry['name_en']} is already held by the government ({entry['source']}): no upload needed")
    replaced = entry["ref"] if entry["state"] == MaterialState.UPLOADED else None
    digest = hashlib.sha256(content).hexdigest()
    doc = Document(
        case_id=case.id,
        material_code=material_code,
        filename=filename.strip(),
        content_type=media_type,
        size=len(content),
        sha256=digest,
        content=content,
        uploaded_by=principal.ref,
        created_at=clock.now(),
    )
    session.add(doc)
    session.flush()
    kept = None
    if replaced is not None and case.status == CaseStatus.DRAFT:
        # an upload that failed an authenticity check is kept, in this transaction, never discarded
        kept = keptuploads.keep_or_drop(session, principal, case, entry, keptuploads.REPLACED)
    entry.update(
        state=MaterialState.UPLOADED.value, source="upload" if channel != Channel.COUNTER else "scan", ref=doc.id
    )
    entry["check"] = _pending_check(doc.id, material_code)
    case.materials = materials
    log_event(
        session,
        principal,
        case,
        channel,
        "material_replaced" if replaced else "material_added",
        {"material": material_code, "sha256": digest, "size": len(content), "type": media_type},
    )
    if kept is not None:
        _log_kept(session, principal, case, channel, kept)
    if entry["check"]["status"] == "checking":  # read and checked off the request path (uploadcheck)
        events.publish(
            session,
            MATERIAL_UPLOADED,
            MaterialUploaded(
                case_id=case.id,
                number=case.number,
                document_id=doc.id,
                material=material_code,
                division_code=case.division_code,
            ),
            principal=principal,
            reason=f"check the upload of {material_code}",
        )
    return doc


def _pending_check(document_id: str, material_code: str) -> dict[str, Any]:
    return uploadstate.pending(document_id, material_code)


def _log_kept(session: Session, principal: Principal, case: Case, channel: str, kept: KeptUpload) -> None:
    """The history's entry of an upload kept for failing an authenticity check (the officer sees it)."""
    log_event(
        session,
        principal,
        case,
        channel,
        "material_kept",
        {
            "material": kept.material_code,
            "document_id": kept.id,
            "because": kept.kept_because,
            "authenticity": list(kept.check.get("authenticity", [])),
        },
    )


def remove_document(session: Session, principal: Principal, case_id: str, material_code: str) -> Case:
    """Take back the upload of one material while the case is a draft: the material is missing again."""
    case = lock_case(session, case_id)
    channel = channel_of(session, principal, case)
    if case.status != CaseStatus.DRAFT:
        raise Conflict(
            f"case {case.number} is {case.status}: an upload is removed only from a draft",
            words=Words("services.upload.not_draft"),
        )
    materials = [dict(m) for m in case.materials]
    entry = next((m for m in materials if m["code"] == material_code), None)
    if entry is None or entry["state"] != MaterialState.UPLOADED:
        raise NotFound(
            f"case {case.number} has no upload of {material_code!r}", words=Words("services.upload.no_upload")
        )
    kept = keptuploads.keep_or_drop(session, principal, case, entry, keptuploads.REMOVED)
    entry.update(state=MaterialState.MISSING.value, source=None, ref=None)
    entry.pop("check", None)
    case.materials = materials
    log_event(session, principal, case, channel, "material_removed", {"material": material_code})
    if kept is not None:
        _log_kept(session, principal, case, channel, kept)
    return case


def delete_draft(session: Session, principal: Principal, case_id: str, *, with_bundle: bool = False) -> None:
    """Throw away a draft never submitted, with its uploads and history (the audit log keeps that it was).

    Only a draft: anything submitted has been seen by officers and is withdrawn with a reason
    instead. A draft of a bundle application goes with its bundle (``with_bundle``, which
    :func:`onecity.services.bundles.delete_drafts` passes), not alone: the bundle's one form and
    one set of materials serve all its items.
    """
    case = lock_case(session, case_id)
    channel = channel_of(session, principal, case)
    if case.status != CaseStatus.DRAFT:
        raise Conflict(
            f"case {case.number} is {case.status}: only a draft is deleted; withdraw it with a reason instead",
            words=Words("services.case.delete_not_draft"),
        )
    if case.bundle_id is not None and not with_bundle:
        raise Conflict(
            f"case {case.number} is part of a bundle application: delete the bundle's drafts together on its page",
            words=Words("services.case.delete_bundle"),
        )
    audit.record(
        session,
        principal,
        "services.case.deleted",
        object_type="case",
        object_id=case.id,
        subject=_person_of(case),
        division_code=case.division_code,
        detail={"number": case.number, "item": case.item_code, "channel": channel},
    )
    kept = [
        k.id
        for m in case.materials
        if m["state"] == MaterialState.UPLOADED
        and (k := keptuploads.keep_or_drop(session, principal, case, m, keptuploads.DRAFT_DELETED)) is not None
    ]
    for doc in session.scalars(select(Document).where(Document.case_id == case.id)):
        session.delete(doc)
    detached = keptuploads.detach(session, case)  # they stay with the applicant, for their next application
    if detached:
        audit.record(
            session,
            principal,
            "services.case.material_kept",
            object_type="case",
            object_id=case.id,
            subject=_person_of(case),
            division_code=case.division_code,
            detail={"number": case.number, "because": keptuploads.DRAFT_DELETED, "kept": detached, "now": kept},
        )
    for entry in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)):
        session.delete(entry)
    session.flush()
    session.delete(case)
    session.flush()


def form_errors(case: Case, it: Item) -> list[dict[str, str]]:
    validator = Draft202012Validator(it.form_schema(), format_checker=FormatChecker())
    problems = sorted(validator.iter_errors(case.form), key=lambda e: list(e.path))
    return [{"field": ".".join(str(p) for p in e.path) or "(form)", "message": e.message} for e in problems]


def field_problems(case: Case, it: Item) -> dict[str, Words]:
    """Each field of the item's form still wrong (required and empty, or not acceptable), in words."""
    problems: dict[str, Words] = {}
    for name in it.fields:
        value = case.form.get(name)
        if value is None:
            if name in it.required:
                problems[name] = Words("services.field.required")
        elif (wrong := fields.problem(name, value)) is not None:
            problems[name] = wrong
    return problems


def require_complete(case: Case, it: Item) -> None:
    """One notice (一次性告知) of everything still wrong: the form's problems and the missing materials,
    each field's in words beside it (``fields``), the materials by name."""
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
    problems = field_problems(case, it)
    raise InvalidInput(
        "all at once (一次性告知) — " + " | ".join(parts),
        words=Words(
            "services.case.incomplete",
            {"fields": str(len(problems)), "materials": str(len(missing))},
        ),
        errors=errors,
        missing=[m["code"] for m in missing],
        fields=problems,
    )
