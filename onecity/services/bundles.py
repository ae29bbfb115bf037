"""Bundled life events (一件事): one form, one set of materials, fanned out to the items' workflows.

A bundle application makes one draft case per item, all prefilled from one read of the
registries. The applicant fills the merged form once and provides each material once;
submission validates every case first (so what is missing is told once, for the whole
bundle) and then submits each, starting each item's own workflow (fan-out). The bundle is
complete when its last case is decided (fan-in, in :func:`service.complete_task`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import audit
from onecity.core.errors import Conflict, InvalidInput, NotFound, Words
from onecity.core.identity.principal import Principal
from onecity.services import catalogue, service
from onecity.services.cases import field_problems
from onecity.services.models import BundleApplication, Case, CaseStatus, MaterialState


def start_bundle(
    session: Session,
    principal: Principal,
    code: str,
    *,
    id_number: str | None = None,
    uscc: str | None = None,
    identity_checked: bool = False,
    proxy_relation: str | None = None,
) -> BundleApplication:
    bundle = catalogue.bundle(code)
    who = service.resolve_applicant(
        session,
        principal,
        applicant_kind=bundle.applicant_kind,
        id_number=id_number,
        uscc=uscc,
        identity_checked=identity_checked,
        proxy_relation=proxy_relation,
        items=tuple(it.code for it in bundle.member_items()),
    )
    facts = service.applicant_facts(
        session,
        who.reader,
        who.person,
        who.firm,
        f"一网通办“一件事”预填：{bundle.name}（申请账号 {principal.name}）",
        who.basis,
    )
    app = BundleApplication(
        bundle_code=code,
        applicant_identifier=who.firm.uscc if who.firm else who.person.id_number,
        applicant_name=who.firm.name if who.firm else who.person.name,
        division_code=who.firm.division_code if who.firm else who.person.division_code,
        channel=who.channel,
        created_by=principal.ref,
    )
    session.add(app)
    session.flush()
    cases = [service.new_case(session, principal, it, who, facts, bundle_id=app.id) for it in bundle.member_items()]
    prefilled: set[str] = set()
    missing: set[str] = set()
    for case in cases:
        prefilled |= set(case.prefill)
        missing |= {m["code"] for m in service.missing_materials(case)}
    app.fields_asked = len([f for f in bundle.fields() if f not in prefilled])
    app.fields_one_by_one = sum(len(it.fields) for it in bundle.member_items())
    app.materials_asked = len(missing)
    app.materials_one_by_one = sum(len(it.materials) for it in bundle.member_items())
    return app


def get_bundle(session: Session, principal: Principal, app_id: str) -> tuple[BundleApplication, list[Case]]:
    app = session.get(BundleApplication, app_id)
    if app is None:
        raise NotFound(f"no bundle application {app_id}")
    cases = list(session.scalars(select(Case).where(Case.bundle_id == app.id).order_by(Case.item_code)))
    for case in cases[:1]:
        service.get_case(session, principal, case.id)  # the same access rule as its cases
    return app, cases


def merged_form(cases: list[Case]) -> tuple[dict[str, Any], dict[str, str]]:
    form: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for case in cases:
        form.update(case.form)
        sources.update(case.prefill)
    return form, sources


def missing(cases: list[Case]) -> list[dict[str, Any]]:
    """The bundle's one-time notice: each material still needed, once."""
    seen: dict[str, dict[str, Any]] = {}
    for case in cases:
        for m in service.missing_materials(case):
            seen.setdefault(m["code"], m)
    return list(seen.values())


def update_form(session: Session, principal: Principal, app_id: str, values: dict[str, Any]) -> None:
    bundle_app, cases = get_bundle(session, principal, app_id)
    fields = set(catalogue.bundle(bundle_app.bundle_code).fields())
    unknown = sorted(set(values) - fields)
    if unknown:
        raise InvalidInput(f"the bundle's form has no fields {unknown}")
    for case in cases:
        own = {k: v for k, v in values.items() if k in catalogue.item(case.item_code).fields}
        if own:
            service.update_form(session, principal, case.id, own)


def attach_document(
    session: Session,
    principal: Principal,
    app_id: str,
    material_code: str,
    *,
    filename: str,
    content_type: str,
    content: bytes,
) -> int:
    """One upload serves every item of the bundle that asks for the material; returns how many."""
    _app, cases = get_bundle(session, principal, app_id)
    used = 0
    for case in cases:
        entry = next((m for m in case.materials if m["code"] == material_code), None)
        if entry is not None and entry["state"] != MaterialState.HELD:
            service.attach_document(
                session,
                principal,
                case.id,
                material_code,
                filename=filename,
                content_type=content_type,
                content=content,
            )
            used += 1
    if not used:
        raise InvalidInput(f"no item of this bundle still needs {material_code!r}")
    return used


def submit(session: Session, principal: Principal, app_id: str, *, confirm_flagged: bool = False) -> list[Case]:
    """Check the whole bundle first (one notice for everything missing), then submit each case that
    waits for nothing; a case the bundle orders after others (:attr:`catalogue.Bundle.after`) is
    submitted by the platform once they are approved (:func:`service.complete_task`), or withdrawn
    if one is refused. Returns the cases submitted now."""
    app, cases = get_bundle(session, principal, app_id)
    bundle = catalogue.bundle(app.bundle_code)
    notice = missing(cases)
    errors: list[dict[str, str]] = []
    problems: dict[str, Words] = {}
    for case in cases:
        it = catalogue.item(case.item_code)
        errors.extend(service.form_errors(case, it))
        problems.update(field_problems(case, it))
    if notice or errors or problems:
        unique = list({(e["field"], e["message"]): e for e in errors}.values())
        parts = []
        if notice:
            parts.append("materials: " + "; ".join(f"{m['name']} / {m['name_en']} ({m['code']})" for m in notice))
        if unique:
            parts.append("form: " + "; ".join(f"{e['field']}: {e['message']}" for e in unique))
        raise InvalidInput(
            "still needed for the bundle, all at once (一次性告知) — " + " | ".join(parts),
            words=Words("services.case.incomplete", {"fields": str(len(problems)), "materials": str(len(notice))}),
            missing=[m["code"] for m in notice],
            errors=unique,
            fields=problems,
        )
    return [
        service.submit(session, principal, case.id, confirm_flagged=confirm_flagged)
        for case in cases
        if not bundle.waits_for(case.item_code)
    ]


def delete_drafts(session: Session, principal: Principal, app_id: str) -> int:
    """Throw away a bundle application never submitted: every case's draft (with its uploads) and the
    bundle itself; audited. Refused, nothing deleted, once any of its cases has been submitted."""
    app, cases = get_bundle(session, principal, app_id)
    if any(c.status != CaseStatus.DRAFT for c in cases):
        raise Conflict(
            f"bundle application {app.id} has submitted cases: only drafts are deleted; withdraw each with a reason",
            words=Words("services.bundle.delete_not_draft"),
        )
    for case in cases:
        service.delete_draft(session, principal, case.id, with_bundle=True)
    audit.record(
        session,
        principal,
        "services.bundle.deleted",
        object_type="bundle_application",
        object_id=app.id,
        division_code=app.division_code,
        detail={"bundle": app.bundle_code, "cases": [c.number for c in cases]},
    )
    session.delete(app)
    session.flush()
    return len(cases)
