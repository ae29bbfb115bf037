"""Pages of government services: the citizen portal, the counter, the officer workbench, performance.

Server-rendered forms, each posting to one service function and coming back to the page
(POST → redirect → GET); a refused action shows the service's own message. The scripts are
the performance chart (ECharts, vendored) and the pre-review's boxes drawn over each upload
(``prereview.js``), both fed from JSON data attributes (CSP ``script-src 'self'``).

The AI pre-review (智能预审) is shown whole to staff: outcome, reasons with rule, field,
confidence and the region of the page, and an override form. An applicant sees only the
one-time list of a pre-review that needs correction, as material and field names: a
reason's message or evidence may name a third person from the registry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.api.deps import SessionDep
from onecity.core import clock, policy
from onecity.core.errors import AuthenticationRequired, DomainError, InvalidInput, NotFound, PermissionDenied
from onecity.core.identity.models import User
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind
from onecity.hub.registries import relations
from onecity.hub.registries.certtypes import SPECS as CERT_SPECS
from onecity.services import advice, bundles, catalogue, performance, prereview, service
from onecity.services.models import Case, Document, PreReview, PreReviewOutcome, Rating
from onecity.web.deps import PagePrincipalDep
from onecity.web.i18n import status_key, translator
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)
CaseId = Annotated[str, Path(max_length=36)]
MAX_UPLOAD = service.MAX_DOCUMENT_BYTES


def _error(request: Request, err: DomainError) -> tuple[str, str]:
    t = translator(current_language(request))
    return t(status_key(err.status)), err.detail


def _guarded(
    request: Request, session: Session, run: Callable[[], Response], again: Callable[[tuple[str, str], int], Response]
) -> Response:
    """Run one action in a savepoint; a refused action comes back to the page with its message."""
    try:
        with session.begin_nested():
            return run()
    except (AuthenticationRequired, PermissionDenied):
        raise
    except DomainError as err:
        return again(_error(request, err), err.status)


# -- portal ----------------------------------------------------------------------------------------


@router.get("/services", response_class=HTMLResponse)
def portal(
    request: Request, session: SessionDep, principal: PagePrincipalDep, q: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    mine: list[Case] = []
    if principal.kind in (PrincipalKind.CITIZEN, PrincipalKind.ENTERPRISE):
        try:
            mine = service.my_cases(session, principal, limit=50)
        except PermissionDenied:
            mine = []
    return render(
        request,
        "services/portal.html",
        items=catalogue.search(q),
        q=q,
        bundles=catalogue.bundles(),
        mine=mine,
        departments=catalogue.departments(),
        is_resident=principal.kind is PrincipalKind.CITIZEN,
    )


@router.get("/services/items/{code}", response_class=HTMLResponse)
def item_page(
    code: Annotated[str, Path(max_length=24)],
    request: Request,
    principal: PagePrincipalDep,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    it = catalogue.item(code)
    return render(
        request,
        "services/item.html",
        status_code=status_code,
        item=it,
        dept=catalogue.department(it.department),
        materials=it.material_specs(),
        fields=[(n, catalogue.field(n)) for n in it.fields],
        error=error,
        can_apply=principal.kind is PrincipalKind.CITIZEN,
    )


@router.post("/services/items/{code}/apply", response_class=HTMLResponse)
def apply(
    code: Annotated[str, Path(max_length=24)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    uscc: Annotated[str, Form(max_length=18)] = "",
) -> Response:
    def run() -> Response:
        case = service.start_case(session, principal, code, uscc=uscc or None)
        return RedirectResponse(f"/services/cases/{case.id}", status_code=303)

    return _guarded(request, session, run, lambda e, s: item_page(code, request, principal, error=e, status_code=s))


# -- words for keys ------------------------------------------------------------------------------------


def _word(t: Callable[..., str], key: str, fallback: str) -> str:
    """The catalogue's words for ``key``, or ``fallback`` when it has none (never the bare key)."""
    text = t(key)
    return fallback if text == key else text


def _material_name(code: str | None, lang: str) -> str:
    if not code:
        return ""
    try:
        spec = catalogue.material(code)
    except KeyError:  # a code no longer in the catalogue: show it as it was recorded
        return code
    return spec.name if lang == "zh" else spec.name_en


def _field_name(name: str | None, lang: str) -> str:
    """Words for a field read from a document (``id_number`` → 公民身份号码) or of the form; several
    comma-separated."""
    if not name:
        return ""
    t = translator(lang)
    out = []
    for n in (x for x in name.split(",") if x):
        text = t(f"services.docfield.{n}")
        if text == f"services.docfield.{n}":
            try:
                spec = catalogue.field(n)
                text = str(spec.get("title") if lang == "zh" else spec.get("x-title-en"))
            except KeyError:
                text = n.replace("_", " ")
        out.append(text)
    return t("services.sep.list").join(out)


def _rule_name(rule: str, lang: str) -> str:
    """Words for a pre-review rule: its own, else its family's (``form.id_number`` → 与申请表比对：公民身份号码)."""
    t = translator(lang)
    own = t(f"services.rule.{rule}")
    if own != f"services.rule.{rule}":
        return own
    family, _, rest = rule.partition(".")
    family_words = t(f"services.rule.{family}")
    if family_words == f"services.rule.{family}":
        return rule
    if not rest or family not in ("form", "registry"):
        return family_words
    return f"{family_words}{t('services.sep.label')}{_field_name(rest, lang)}"


def source_name(source: str | None, lang: str) -> str:
    """Where a prefilled value or a held material comes from, in words (``firm.name`` → 法人登记·名称)."""
    if not source:
        return ""
    t = translator(lang)
    sep = "·" if lang == "zh" else ": "
    if source in ("upload", "scan"):
        return _word(t, f"services.src.{source}", source)
    kind, _, rest = source.replace(":", ".", 1).partition(".")
    if kind in ("person", "firm") and rest:
        return t(f"services.src.{kind}") + sep + _word(t, f"services.src.{kind}.{rest}", rest.replace("_", " "))
    if kind == "registry":
        return _word(t, f"services.src.{'firm' if rest == 'legal_person' else rest}", source)
    if kind == "cert" and rest:
        type_code, _, key = rest.partition(".")
        spec = CERT_SPECS.get(type_code)
        parts = [t("services.src.cert"), (spec.name if lang == "zh" else spec.name_en.lower()) if spec else type_code]
        if key:
            surface = {n: z for n, z, _t in spec.surface} if spec else {}
            parts.append(
                t("services.src.number")
                if key == "number"
                else surface.get(key, key)
                if lang == "zh"
                else key.replace("_", " ")
            )
        return sep.join(parts)
    return source


def _history(session: Session, case: Case, lang: str, *, staff: bool) -> list[dict[str, Any]]:
    """The case history in words: what happened, with material names; pre-review details for staff only."""
    t = translator(lang)
    rows = []
    for e in service.history(session, case):
        d = e.detail or {}
        notes: list[str] = []
        if d.get("material"):
            notes.append(_material_name(str(d["material"]), lang))
        if e.action == "prereviewed":
            if staff and d.get("outcome"):
                notes.append(
                    t("services.pr.history.detail", n=d.get("round", 1), what=t(f"services.pr.outcome.{d['outcome']}"))
                )
        elif e.action == "prereview_overridden":
            if staff:
                notes.append(f"{t('services.pr.outcome.' + str(d.get('officer')))} — {d.get('reason', '')}")
        else:
            if d.get("outcome") and e.action.startswith("task_"):
                notes.append(_word(t, f"services.outcome.{d['outcome']}", str(d["outcome"])))
            if d.get("reason"):
                notes.append(str(d["reason"]))
            if d.get("missing"):
                listed = "、".join(_material_name(str(c), lang) for c in d["missing"])
                notes.append(f"{t('services.history.missing')}: {listed}" if e.action == "drafted" else listed)
        actor = (
            _word(t, f"services.actor.{e.actor_name}", e.actor_name) if e.actor.startswith("system:") else e.actor_name
        )
        rows.append(
            {
                "at": e.at,
                "channel": e.channel,
                "actor_name": actor,
                "action": e.action,
                "words": _word(t, f"services.action.{e.action}", e.action),
                "notes": " · ".join(notes),
            }
        )
    return rows


# -- the pre-review, as staff and applicants see it ---------------------------------------------------


def _is_staff(principal: Principal) -> bool:
    return principal.kind is PrincipalKind.STAFF and principal.has_role(*service.STAFF_ROLES)


def _pct(value: Any) -> str:
    try:
        return f"{float(value) * 100:.1f}%"
    except (TypeError, ValueError):
        return "–"


def _officer_name(session: Session, ref: str | None) -> str:
    if not ref:
        return ""
    kind, _, ident = ref.partition(":")
    user = session.get(User, ident) if kind == "user" else None
    return (user.display_name or user.username) if user is not None else ref


#: Evidence keys shown in a reason's words, in this order.
EVIDENCE_KEYS = (
    "form",
    "document",
    "registry",
    "application",
    "expected",
    "detected",
    "status",
    "registry_status",
    "valid_until",
    "reason",
)


def reason_text(r: dict[str, Any], lang: str) -> str:
    """A reason's message in the reader's language: the checks write English sentences, so a Chinese
    reader gets the rule's own words with its evidence (材料上：…；登记库：…)."""
    message = str(r.get("message") or "")
    if lang != "zh":
        return message
    t = translator(lang)
    rule = str(r.get("rule") or "")
    if rule.startswith("eligibility."):
        return message  # the DMN table's reason is written in both languages
    if rule == "document_risk":
        return t("services.pr.msg.clean")
    if rule in ("document.unread", "document.readable"):
        return t("services.pr.msg.unread")
    if rule == "field.read":
        return t("services.pr.msg.not_read")
    if rule == "field.confidence":
        return f"{t('services.pr.msg.low_confidence')}（{_pct(r.get('confidence'))}）"
    if rule == "form.registry_value_changed":
        return t("services.pr.msg.changed")
    evidence = r.get("evidence") or {}
    parts = []
    for key in EVIDENCE_KEYS:
        value = evidence.get(key)
        if value in (None, ""):
            continue
        if key in ("expected", "detected"):
            value = _word(t, f"services.doctype.{value}", str(value))
        parts.append(f"{t('services.pr.ev.' + key)}：{value}")
    return "；".join(parts) if parts else _rule_name(rule, lang)


def summary_text(review: PreReview, reasons: list[dict[str, Any]], lang: str) -> str:
    """The pre-review's one line: as written (English) or, for a Chinese reader, the outcome and the
    rules that led to it in words."""
    if lang != "zh":
        return review.summary
    t = translator(lang)
    outcome = str(review.outcome)
    decisive = [x for x in reasons if x.get("outcome") == "fail"] or [x for x in reasons if x.get("outcome") == "warn"]
    if not decisive:
        tail = (
            t("services.pr.msg.officer_item")
            if outcome == PreReviewOutcome.PRE_APPROVED
            else t("services.pr.msg.clean")
        )
        return f"{t('services.pr.outcome.' + outcome)}：{tail}"
    listed = "；".join(
        dict.fromkeys(
            f"{x['material_name'] + ' ' if x.get('material_name') else ''}{x['rule_name']}" for x in decisive[:6]
        )
    )
    return f"{t('services.pr.outcome.' + outcome)}：{listed}"


def prereview_view(session: Session, case: Case, lang: str) -> dict[str, Any] | None:
    """Everything the staff panel shows of a case's latest pre-review (None before the first)."""
    rounds = list(session.scalars(select(PreReview).where(PreReview.case_id == case.id).order_by(PreReview.round)))
    if not rounds:
        return None
    review = rounds[-1]
    t = translator(lang)
    reasons = []
    for n, r in enumerate(review.reasons or [], 1):
        reasons.append(
            {
                **r,
                "n": n,
                "rule_name": _rule_name(str(r.get("rule", "")), lang),
                "field_name": _field_name(r.get("field"), lang),
                "material_name": _material_name(r.get("material"), lang),
                "confidence_pct": _pct(r.get("confidence")),
                "result": t(f"services.pr.result.{r.get('outcome', 'warn')}"),
            }
        )
        reasons[-1]["text"] = reason_text(reasons[-1], lang)
    documents = []
    for d in review.documents or []:
        fields = [{"name": name, "label": _field_name(name, lang), **f} for name, f in (d.get("fields") or {}).items()]
        for f in fields:
            f["confidence_pct"] = _pct(f.get("confidence"))
        boxes = [
            {"box": f["box"], "kind": "field", "label": f["label"]}
            for f in fields
            if f.get("box") and f.get("value") is not None
        ]
        boxes += [
            {"box": r["box"], "kind": r["outcome"], "label": f"#{r['n']}"}
            for r in reasons
            if r.get("document_id") == d.get("document_id") and r.get("box") and r.get("outcome") in ("warn", "fail")
        ]
        documents.append(
            {
                **d,
                "fields_list": fields,
                "material_name": _material_name(d.get("material"), lang),
                "src": f"/services/cases/{case.id}/documents/{d['document_id']}",
                "canvas": json.dumps({"size": d.get("size"), "boxes": boxes}, ensure_ascii=False),
            }
        )
    outcome = str(review.outcome)
    overridable = (
        outcome != PreReviewOutcome.APPROVE_UNATTENDED
        and review.overridden_by is None
        and case.status in ("submitted", "in_review", "supplement")
    )
    return {
        "review": review,
        "outcome": outcome,
        "rounds": len(rounds),
        "reasons": reasons,
        "documents": documents,
        "summary": summary_text(review, reasons, lang),
        "eligibility": review.eligibility,
        "seconds": f"{review.seconds:.2f}",
        "overridden_by": _officer_name(session, review.overridden_by),
        "overridable": overridable,
        "choices": [
            o.value for o in PreReviewOutcome if o not in (PreReviewOutcome.APPROVE_UNATTENDED, review.outcome)
        ],
    }


def applicant_corrections(session: Session, case: Case, lang: str) -> list[dict[str, str]]:
    """The one-time list an applicant sees: material and field names only, never a reason's message or
    evidence (they may name a third person); nothing unless the latest pre-review needs correction."""
    review = advice.latest(session, case.id)
    if (
        review is None
        or review.outcome != PreReviewOutcome.NEEDS_CORRECTION
        or review.overridden_by is not None
        or case.status not in ("submitted", "supplement", "in_review")
    ):
        return []
    listed: dict[str, list[str]] = {}
    for c in review.corrections or []:
        fields = listed.setdefault(str(c.get("material") or ""), [])
        name = _field_name(c.get("field"), lang)
        if name and name not in fields:
            fields.append(name)
    return [
        {"material": _material_name(code, lang), "fields": "、".join(fields)} for code, fields in listed.items() if code
    ]


# -- one case ----------------------------------------------------------------------------------------


def _case_page(
    request: Request,
    session: Session,
    principal: Principal,
    case_id: str,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    case = service.get_case(session, principal, case_id)
    it = catalogue.item(case.item_code)
    rating = session.query(Rating).filter(Rating.case_id == case.id).one_or_none()
    is_party = principal.kind is not PrincipalKind.STAFF or principal.has_role(*service.STAFF_ROLES)
    lang = current_language(request)
    staff = _is_staff(principal)
    return render(
        request,
        "services/case.html",
        status_code=status_code,
        case=case,
        item=it,
        fields=[(n, catalogue.field(n)) for n in it.fields],
        missing=service.missing_materials(case),
        history=_history(session, case, lang, staff=staff),
        rating=rating,
        error=error,
        editable=case.status in ("draft", "supplement") and is_party,
        is_applicant=principal.kind is not PrincipalKind.STAFF,
        source_name=lambda src: source_name(src, lang),
        staff=staff,
        pr=prereview_view(session, case, lang) if staff else None,
        corrections=applicant_corrections(session, case, lang) if not staff else [],
    )


@router.get("/services/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    return _case_page(request, session, principal, case_id)


#: Uploads served inline as pictures; anything else is downloaded, never rendered by the browser.
IMAGE_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}


def case_document(session: Session, principal: Principal, case_id: str, document_id: str) -> Document:
    """An upload of a case, for whoever may read the case (the read is audited by ``get_case``)."""
    case = service.get_case(session, principal, case_id)
    doc = session.get(Document, document_id)
    if doc is None or doc.case_id != case.id:
        raise NotFound(f"no document {document_id} in case {case.number}")
    return doc


@router.get("/services/cases/{case_id}/documents/{document_id}")
def document_file(
    case_id: CaseId, document_id: Annotated[str, Path(max_length=36)], session: SessionDep, principal: PagePrincipalDep
) -> Response:
    doc = case_document(session, principal, case_id, document_id)
    kind = doc.content_type.split(";")[0].strip().lower()
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in doc.filename)
    disposition = f"filename=\"{ascii_name or 'document'}\"; filename*=UTF-8''{quote(doc.filename)}"
    if kind in IMAGE_TYPES and doc.content.startswith(IMAGE_TYPES[kind]):
        return Response(
            doc.content, media_type=kind, headers={**headers, "Content-Disposition": "inline; " + disposition}
        )
    return Response(
        doc.content,
        media_type="application/octet-stream",
        headers={**headers, "Content-Disposition": "attachment; " + disposition},
    )


@router.post("/services/cases/{case_id}/prereview/override", response_class=HTMLResponse)
def prereview_override(
    case_id: CaseId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    outcome: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    def run() -> Response:
        prereview.override(session, principal, case_id, outcome, reason)
        return RedirectResponse(f"/services/cases/{case_id}#prereview", status_code=303)

    return _guarded(request, session, run, lambda e, s: _case_page(request, session, principal, case_id, e, s))


def _typed(spec: dict[str, Any], raw: str) -> Any:
    if raw == "":
        return None
    if spec.get("type") == "integer":
        try:
            return int(raw)
        except ValueError as err:
            raise InvalidInput(f"{spec['x-title-en']}: a whole number, please") from err
    if spec.get("type") == "number":
        try:
            return float(raw)
        except ValueError as err:
            raise InvalidInput(f"{spec['x-title-en']}: a number, please") from err
    return raw


@router.post("/services/cases/{case_id}/form", response_class=HTMLResponse)
async def save_form(case_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    form = await request.form()

    def run() -> Response:
        case = service.get_case(session, principal, case_id)
        values = {}
        for name in catalogue.item(case.item_code).fields:
            raw = form.get(f"f.{name}")
            if isinstance(raw, str):
                value = _typed(catalogue.field(name), raw.strip()[:500])
                if value is not None and value != case.form.get(name):
                    values[name] = value
        if values:
            service.update_form(session, principal, case_id, values)
        return RedirectResponse(f"/services/cases/{case_id}", status_code=303)

    return _guarded(request, session, run, lambda e, s: _case_page(request, session, principal, case_id, e, s))


@router.post("/services/cases/{case_id}/documents", response_class=HTMLResponse)
async def upload(
    case_id: CaseId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    material_code: Annotated[str, Form(max_length=40)],
    file: UploadFile,
) -> Response:
    content = await file.read(MAX_UPLOAD + 1)

    def run() -> Response:
        service.attach_document(
            session,
            principal,
            case_id,
            material_code,
            filename=file.filename or "scan",
            content_type=file.content_type or "application/octet-stream",
            content=content,
        )
        return RedirectResponse(f"/services/cases/{case_id}", status_code=303)

    return _guarded(request, session, run, lambda e, s: _case_page(request, session, principal, case_id, e, s))


ACTIONS: dict[str, Callable[[Session, Principal, str, str], Any]] = {
    "submit": lambda s, p, cid, _r: service.submit(s, p, cid),
    "resubmit": lambda s, p, cid, _r: service.resubmit(s, p, cid),
    "withdraw": lambda s, p, cid, r: service.withdraw(s, p, cid, r),
}


@router.post("/services/cases/{case_id}/{action}", response_class=HTMLResponse)
def case_action(
    case_id: CaseId,
    action: Annotated[str, Path(max_length=20)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    reason: Annotated[str, Form(max_length=500)] = "",
    stars: Annotated[int, Form(ge=0, le=5)] = 0,
    comment: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    def run() -> Response:
        if action == "rate":
            service.rate(session, principal, case_id, stars, comment)
        elif action in ACTIONS:
            ACTIONS[action](session, principal, case_id, reason)
        else:
            raise InvalidInput(f"no action {action!r}")
        return RedirectResponse(f"/services/cases/{case_id}", status_code=303)

    return _guarded(request, session, run, lambda e, s: _case_page(request, session, principal, case_id, e, s))


# -- bundles (一件事) -------------------------------------------------------------------------------------


@router.get("/services/bundles/{code}", response_class=HTMLResponse)
def bundle_page(
    code: Annotated[str, Path(max_length=40)],
    request: Request,
    principal: PagePrincipalDep,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    b = catalogue.bundle(code)
    return render(
        request,
        "services/bundle.html",
        status_code=status_code,
        bundle=b,
        burden=b.burden(),
        departments=catalogue.departments(),
        error=error,
        can_apply=principal.kind is PrincipalKind.CITIZEN,
    )


@router.post("/services/bundles/{code}/apply", response_class=HTMLResponse)
def bundle_apply(
    code: Annotated[str, Path(max_length=40)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    uscc: Annotated[str, Form(max_length=18)] = "",
) -> Response:
    def run() -> Response:
        app = bundles.start_bundle(session, principal, code, uscc=uscc or None)
        return RedirectResponse(f"/services/bundle-applications/{app.id}", status_code=303)

    return _guarded(request, session, run, lambda e, s: bundle_page(code, request, principal, error=e, status_code=s))


def _bundle_app_page(
    request: Request,
    session: Session,
    principal: Principal,
    app_id: str,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    app, cases = bundles.get_bundle(session, principal, app_id)
    b = catalogue.bundle(app.bundle_code)
    form, sources = bundles.merged_form(cases)
    return render(
        request,
        "services/bundle_app.html",
        status_code=status_code,
        app=app,
        bundle=b,
        cases=cases,
        form=form,
        sources=sources,
        fields=[(n, catalogue.field(n)) for n in b.fields()],
        missing=bundles.missing(cases),
        editable=all(c.status == "draft" for c in cases),
        error=error,
        source_name=lambda src: source_name(src, current_language(request)),
    )


@router.get("/services/bundle-applications/{app_id}", response_class=HTMLResponse)
def bundle_app_page(app_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    return _bundle_app_page(request, session, principal, app_id)


@router.post("/services/bundle-applications/{app_id}/form", response_class=HTMLResponse)
async def bundle_save(app_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    posted = await request.form()

    def run() -> Response:
        app, cases = bundles.get_bundle(session, principal, app_id)
        current, _sources = bundles.merged_form(cases)
        values = {}
        for name in catalogue.bundle(app.bundle_code).fields():
            raw = posted.get(f"f.{name}")
            if isinstance(raw, str):
                value = _typed(catalogue.field(name), raw.strip()[:500])
                if value is not None and value != current.get(name):
                    values[name] = value
        if values:
            bundles.update_form(session, principal, app_id, values)
        return RedirectResponse(f"/services/bundle-applications/{app_id}", status_code=303)

    return _guarded(request, session, run, lambda e, s: _bundle_app_page(request, session, principal, app_id, e, s))


@router.post("/services/bundle-applications/{app_id}/documents", response_class=HTMLResponse)
async def bundle_upload(
    app_id: CaseId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    material_code: Annotated[str, Form(max_length=40)],
    file: UploadFile,
) -> Response:
    content = await file.read(MAX_UPLOAD + 1)

    def run() -> Response:
        bundles.attach_document(
            session,
            principal,
            app_id,
            material_code,
            filename=file.filename or "scan",
            content_type=file.content_type or "application/octet-stream",
            content=content,
        )
        return RedirectResponse(f"/services/bundle-applications/{app_id}", status_code=303)

    return _guarded(request, session, run, lambda e, s: _bundle_app_page(request, session, principal, app_id, e, s))


@router.post("/services/bundle-applications/{app_id}/submit", response_class=HTMLResponse)
def bundle_submit(app_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    def run() -> Response:
        bundles.submit(session, principal, app_id)
        return RedirectResponse(f"/services/bundle-applications/{app_id}", status_code=303)

    return _guarded(request, session, run, lambda e, s: _bundle_app_page(request, session, principal, app_id, e, s))


# -- counter -------------------------------------------------------------------------------------------


def _counter(
    request: Request,
    session: Session,
    principal: Principal,
    id_number: str,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
    *,
    identity_checked: bool = False,
) -> Response:
    cases: list[Case] = []
    if id_number and error is None:
        try:
            with session.begin_nested():
                cases = service.cases_of_person(session, principal, id_number, identity_checked=identity_checked)
        except (AuthenticationRequired, PermissionDenied):
            raise
        except DomainError as err:
            error, status_code = _error(request, err), err.status
    return render(
        request,
        "services/counter.html",
        status_code=status_code,
        id_number=id_number,
        cases=cases,
        items=catalogue.items(),
        error=error,
        identity_checked=identity_checked,
    )


@router.get("/services/counter", response_class=HTMLResponse)
def counter_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    id_number: Annotated[str, Query(max_length=18)] = "",
    identity_checked: Annotated[str, Query(max_length=5)] = "",
) -> Response:
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in as a counter clerk")
    policy.require(principal, "services.case.counter")  # the counter's form is for clerks only
    return _counter(request, session, principal, id_number.strip().upper(), identity_checked=identity_checked == "yes")


@router.post("/services/counter/apply", response_class=HTMLResponse)
def counter_apply(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    id_number: Annotated[str, Form(max_length=18)],
    item_code: Annotated[str, Form(max_length=24)],
    uscc: Annotated[str, Form(max_length=18)] = "",
    identity_checked: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    def run() -> Response:
        case = service.start_case(
            session,
            principal,
            item_code,
            id_number=id_number.strip().upper(),
            uscc=uscc.strip() or None,
            identity_checked=identity_checked == "yes",
        )
        return RedirectResponse(f"/services/cases/{case.id}", status_code=303)

    return _guarded(request, session, run, lambda e, s: _counter(request, session, principal, id_number, e, s))


# -- workbench -------------------------------------------------------------------------------------


def _work(
    request: Request,
    session: Session,
    principal: Principal,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    policy.require(principal, "services.work.list")  # before anything is written for the visitor
    with session.begin_nested():
        service.refresh_clocks(session)
    queue = service.work_queue(session, principal)
    reviews = latest_reviews(session, [c.id for _w, c in queue])
    return render(
        request,
        "services/work.html",
        status_code=status_code,
        queue=queue,
        outcomes=service.OUTCOMES,
        items={it.code: it for it in catalogue.items()},
        error=error,
        reviews=reviews,
        against=lambda review, kind, outcome: (
            review is not None and review.overridden_by is None and advice.contradicts(review, kind, outcome)
        ),
        to_correct=lambda review: (
            {str(c.get("material")) for c in (review.corrections or [])}
            if review is not None and review.outcome == PreReviewOutcome.NEEDS_CORRECTION
            else set()
        ),
    )


def latest_reviews(session: Session, case_ids: list[str]) -> dict[str, PreReview]:
    """The latest pre-review of each of these cases (one query), by case id."""
    if not case_ids:
        return {}
    out: dict[str, PreReview] = {}
    for row in session.scalars(select(PreReview).where(PreReview.case_id.in_(case_ids)).order_by(PreReview.round)):
        out[row.case_id] = row
    return out


@router.get("/services/work", response_class=HTMLResponse)
def work_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    return _work(request, session, principal)


@router.post("/services/work/{work_item_id}", response_class=HTMLResponse)
def work_done(
    work_item_id: Annotated[str, Path(max_length=36)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    outcome: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    missing: Annotated[list[str] | None, Form(max_length=40)] = None,
) -> Response:
    def run() -> Response:
        codes = [c.strip() for c in (missing or []) if c.strip()][:50]
        service.complete_task(session, principal, work_item_id, outcome, reason=reason, missing=codes)
        return RedirectResponse("/services/work", status_code=303)

    return _guarded(request, session, run, lambda e, s: _work(request, session, principal, e, s))


# -- performance -------------------------------------------------------------------------------------


@router.get("/services/performance", response_class=HTMLResponse)
def performance_page(
    request: Request,
    session: SessionDep,
    by: Annotated[str, Query(pattern="^(department|district|item)$")] = "department",
) -> Response:
    rows = performance.figures(session, by)
    t = translator(current_language(request))
    chart = {
        "names": [t("services.perf.volume"), t("services.perf.within"), t("services.perf.prefilled")],
        "labels": [r["name"] if current_language(request) == "zh" else r["name_en"] for r in rows],
        "volume": [r["volume"] for r in rows],
        "within": [r["within_time_limit_rate"] for r in rows],
        "prefilled": [r["prefilled_field_share"] for r in rows],
    }
    return render(
        request,
        "services/performance.html",
        rows=rows,
        by=by,
        chart=json.dumps(chart, ensure_ascii=False),
        ratings=performance.ratings_by_department(session),
    )


# -- powers of attorney (授权委托) ------------------------------------------------------------------------


def _until(day: str) -> datetime:
    """The end of the chosen day in Shanghai (a date field gives the last day the power runs)."""
    try:
        d = date.fromisoformat(day.strip())
    except ValueError as err:
        raise InvalidInput("valid_until is a date (YYYY-MM-DD)") from err
    return datetime.combine(d, time(23, 59, 59), tzinfo=clock.SHANGHAI)


def _powers(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    counter: bool,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
    notice: str = "",
) -> Response:
    granted: list[relations.PoaView] = []
    received: list[relations.PoaView] = []
    if not counter:
        granted, received = relations.my_powers(session, principal)
    return render(
        request,
        "services/powers.html",
        status_code=status_code,
        counter=counter,
        granted=granted,
        received=received,
        items=catalogue.items(),
        error=error,
        notice=notice,
    )


@router.get("/services/powers", response_class=HTMLResponse)
def powers_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    """A resident's powers of attorney: those they granted (revocable here) and those granted to them."""
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in with your own account to manage your powers of attorney")
    return _powers(request, session, principal, counter=False)


def _grant(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    counter: bool,
    agent_id_number: str,
    items: str,
    valid_until: str,
    agent_name: str = "",
    grantor_id_number: str = "",
    identity_checked: str = "",
) -> Response:
    t = translator(current_language(request))

    def run() -> Response:
        relations.grant_power_of_attorney(
            session,
            principal,
            agent_id_number=agent_id_number,
            agent_name=agent_name or None,
            items=[i for i in items.replace("，", ",").split(",")],
            valid_until=_until(valid_until),
            grantor_id_number=grantor_id_number or None,
            identity_checked=identity_checked == "yes",
            known_items={it.code for it in catalogue.items()},
        )
        return _powers(request, session, principal, counter=counter, notice=t("services.powers.done"))

    return _guarded(
        request,
        session,
        run,
        lambda e, s: _powers(request, session, principal, counter=counter, error=e, status_code=s),
    )


@router.post("/services/powers", response_class=HTMLResponse)
def powers_grant(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    agent_id_number: Annotated[str, Form(max_length=18)],
    agent_name: Annotated[str, Form(max_length=40)],
    items: Annotated[str, Form(max_length=600)],
    valid_until: Annotated[str, Form(max_length=10)],
) -> Response:
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in with your own account to grant a power of attorney")
    return _grant(
        request,
        session,
        principal,
        counter=False,
        agent_id_number=agent_id_number,
        agent_name=agent_name,
        items=items,
        valid_until=valid_until,
    )


@router.post("/services/powers/{poa_id}/revoke", response_class=HTMLResponse)
def powers_revoke(
    poa_id: Annotated[str, Path(max_length=36)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    reason: Annotated[str, Form(max_length=300)],
) -> Response:
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in with your own account to revoke a power of attorney")
    t = translator(current_language(request))

    def run() -> Response:
        relations.revoke_power_of_attorney(session, principal, poa_id, reason=reason)
        return _powers(request, session, principal, counter=False, notice=t("services.powers.revoked"))

    return _guarded(
        request, session, run, lambda e, s: _powers(request, session, principal, counter=False, error=e, status_code=s)
    )


@router.get("/services/counter/powers", response_class=HTMLResponse)
def counter_powers_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    """The counter's form to record a power of attorney after checking both identity documents."""
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in as a counter clerk")
    policy.require(principal, "hub.registry.poa.record")
    return _powers(request, session, principal, counter=True)


@router.post("/services/counter/powers", response_class=HTMLResponse)
def counter_powers_record(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    grantor_id_number: Annotated[str, Form(max_length=18)],
    agent_id_number: Annotated[str, Form(max_length=18)],
    items: Annotated[str, Form(max_length=600)],
    valid_until: Annotated[str, Form(max_length=10)],
    identity_checked: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in as a counter clerk")
    policy.require(principal, "hub.registry.poa.record")
    return _grant(
        request,
        session,
        principal,
        counter=True,
        agent_id_number=agent_id_number,
        items=items,
        valid_until=valid_until,
        grantor_id_number=grantor_id_number,
        identity_checked=identity_checked,
    )
