"""Pages of government services: the citizen portal, an item, a case and a bundle application.

The counter, the workbench and the performance board are in :mod:`~onecity.services.staff_pages`,
powers of attorney in :mod:`~onecity.services.powers_pages`, and how the pages say a case's codes
and pre-review in words in :mod:`~onecity.services.presentation`.

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

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from onecity.api.deps import SessionDep
from onecity.core.errors import InvalidInput, PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind
from onecity.services import bundles, catalogue, fields, prereview, service, uploads, uploadstate
from onecity.services.models import Case, Rating
from onecity.services.presentation import (
    applicant_corrections,
    case_documents,
    case_history,
    is_staff,
    kept_uploads,
    prereview_view,
    source_name,
    upload_checks,
)
from onecity.web.deps import PagePrincipalDep
from onecity.web.forms import guarded
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)


CaseId = Annotated[str, Path(max_length=36)]


MAX_UPLOAD = service.MAX_DOCUMENT_BYTES


@router.get("/services", response_class=HTMLResponse)
def portal(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    q: Annotated[str, Query(max_length=100)] = "",
    done: Annotated[str, Query(max_length=20)] = "",
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
        done="deleted" if done == "deleted" else "",
    )


@router.get("/services/items/{code}", response_class=HTMLResponse)
def item_page(
    code: Annotated[str, Path(max_length=24)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    it = catalogue.item(code)
    can_apply = principal.kind is PrincipalKind.CITIZEN
    return render(
        request,
        "services/item.html",
        status_code=status_code,
        item=it,
        dept=catalogue.department(it.department),
        materials=it.material_specs(),
        fields=[(n, catalogue.field(n)) for n in it.fields],
        error=error,
        can_apply=can_apply,
        firms=_my_firms(session, principal) if can_apply and it.applicant_kind == "legal_person" else None,
    )


def _my_firms(session: Session, principal: Principal) -> list[Any] | None:
    """The firms the resident represents (None when their account is not linked to their record yet)."""
    try:
        return service.my_firms(session, principal)
    except PermissionDenied:
        return None


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

    return guarded(
        request, session, run, lambda e, s: item_page(code, request, session, principal, error=e, status_code=s)
    )


def case_page_response(
    request: Request,
    session: Session,
    principal: Principal,
    case_id: str,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
    *,
    posted: dict[str, str] | None = None,
    done: str = "",
) -> Response:
    """The case page; after a refused save, ``posted`` (the form as sent, ``f.<name>``) is shown again, not lost;
    after an action that went through, ``done`` (one of :data:`DONE`) confirms it."""
    case = service.get_case(session, principal, case_id)
    it = catalogue.item(case.item_code)
    rating = session.query(Rating).filter(Rating.case_id == case.id).one_or_none()
    is_party = principal.kind is not PrincipalKind.STAFF or principal.has_role(*service.STAFF_ROLES)
    lang = current_language(request)
    staff = is_staff(principal)
    return render(
        request,
        "services/case.html",
        status_code=status_code,
        case=case,
        item=it,
        fields=[(n, catalogue.field(n)) for n in it.fields],
        missing=service.missing_materials(case),
        history=case_history(session, case, lang, staff=staff),
        rating=rating,
        error=error,
        editable=case.status in ("draft", "supplement") and is_party,
        is_applicant=principal.kind is not PrincipalKind.STAFF,
        source_name=lambda src: source_name(src, lang),
        staff=staff,
        pr=prereview_view(session, case, lang) if staff else None,
        documents=case_documents(session, case, lang) if staff else [],
        kept=kept_uploads(session, case, lang, staff=staff),
        corrections=applicant_corrections(session, case, lang) if not staff else [],
        checks=upload_checks(case, lang),
        flagged=[m["code"] for m in uploadstate.flagged(case)] if case.status == "draft" else [],
        posted=posted or {},
        field_errors=getattr(error, "fields", {}),
        done=done,
        upload_pages=uploads.MAX_PAGES,
        upload_mb=uploads.MAX_BYTES // (1024 * 1024),
    )


#: What a case page confirms after the action that came back to it (``?done=``): each a ``services.done.*`` message.
DONE = frozenset({"saved", "submitted", "resubmitted", "uploaded", "replaced", "removed", "withdrawn", "rated"})


@router.get("/services/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: CaseId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return case_page_response(request, session, principal, case_id, done=done if done in DONE else "")


#: Uploads shown in the browser as pictures (their content was checked when kept); anything else, a PDF
#: included, is downloaded, never rendered in the platform's origin.
INLINE_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}


@router.get("/services/cases/{case_id}/documents/{document_id}")
def document_file(
    case_id: CaseId, document_id: Annotated[str, Path(max_length=36)], session: SessionDep, principal: PagePrincipalDep
) -> Response:
    """An upload, to whoever may read the case (its applicant or proxy, staff whose area covers it); audited."""
    doc = service.read_document(session, principal, case_id, document_id)
    kind = doc.content_type.split(";")[0].strip().lower()
    # nothing in the file runs in the platform's origin
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    }
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in doc.filename)
    disposition = f"filename=\"{ascii_name or 'document'}\"; filename*=UTF-8''{quote(doc.filename)}"
    if kind in INLINE_TYPES and doc.content.startswith(INLINE_TYPES[kind]):
        return Response(
            doc.content, media_type=kind, headers={**headers, "Content-Disposition": "inline; " + disposition}
        )
    return Response(
        doc.content,
        media_type="application/octet-stream",
        headers={**headers, "Content-Disposition": "attachment; " + disposition},
    )


@router.post("/services/cases/{case_id}/materials/{material_code}/remove", response_class=HTMLResponse)
def remove_upload(
    case_id: CaseId,
    material_code: Annotated[str, Path(max_length=40)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
) -> Response:
    def run() -> Response:
        service.remove_document(session, principal, case_id, material_code)
        return RedirectResponse(f"/services/cases/{case_id}?done=removed#case-materials", status_code=303)

    return guarded(request, session, run, lambda e, s: case_page_response(request, session, principal, case_id, e, s))


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

    return guarded(request, session, run, lambda e, s: case_page_response(request, session, principal, case_id, e, s))


@router.post("/services/cases/{case_id}/form", response_class=HTMLResponse)
async def save_form(case_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    form = await request.form()

    posted = {k: v for k, v in form.items() if isinstance(v, str) and k.startswith("f.")}

    def run() -> Response:
        case = service.get_case(session, principal, case_id)
        values = fields.parse_form(catalogue.item(case.item_code).fields, form, case.form)
        if values:
            service.update_form(session, principal, case_id, values)
        return RedirectResponse(f"/services/cases/{case_id}?done=saved", status_code=303)

    # the body is read; the database work runs off the event loop, like a plain route's
    return await run_in_threadpool(
        guarded,
        request,
        session,
        run,
        lambda e, s: case_page_response(request, session, principal, case_id, e, s, posted=posted),
    )


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
        case = service.get_case(session, principal, case_id)
        before = next((m["state"] for m in case.materials if m["code"] == material_code), None)
        service.attach_document(
            session,
            principal,
            case_id,
            material_code,
            filename=file.filename or "scan",
            content_type=file.content_type or "application/octet-stream",
            content=content,
        )
        done = "replaced" if before == "uploaded" else "uploaded"
        return RedirectResponse(f"/services/cases/{case_id}?done={done}#case-materials", status_code=303)

    # the body is read; the database work runs off the event loop, like a plain route's
    return await run_in_threadpool(
        guarded, request, session, run, lambda e, s: case_page_response(request, session, principal, case_id, e, s)
    )


ACTIONS: dict[str, Callable[[Session, Principal, str, str], Any]] = {
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
    confirm_flagged: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    def run() -> Response:
        if action == "delete":
            service.delete_draft(session, principal, case_id)
            return RedirectResponse("/services?done=deleted#my-cases", status_code=303)
        if action == "submit":  # a material the upload check flagged goes only with the applicant's tick
            service.submit(session, principal, case_id, confirm_flagged=confirm_flagged == "yes")
        elif action == "rate":
            service.rate(session, principal, case_id, stars, comment)
        elif action in ACTIONS:
            ACTIONS[action](session, principal, case_id, reason)
        else:
            raise InvalidInput(f"no action {action!r}")
        done = {"rate": "rated", "submit": "submitted", "resubmit": "resubmitted", "withdraw": "withdrawn"}[action]
        return RedirectResponse(f"/services/cases/{case_id}?done={done}", status_code=303)

    return guarded(request, session, run, lambda e, s: case_page_response(request, session, principal, case_id, e, s))


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

    return guarded(request, session, run, lambda e, s: bundle_page(code, request, principal, error=e, status_code=s))


def _bundle_app_page(
    request: Request,
    session: Session,
    principal: Principal,
    app_id: str,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
    *,
    posted: dict[str, str] | None = None,
) -> Response:
    app, cases = bundles.get_bundle(session, principal, app_id)
    b = catalogue.bundle(app.bundle_code)
    form, sources = bundles.merged_form(cases)
    lang = current_language(request)
    # one upload serves every item asking for the material: its check as the first such case has it
    uploaded: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}
    for c in cases:
        checks = upload_checks(c, lang)
        for mt in c.materials:
            if mt["state"] == "uploaded" and mt["code"] not in uploaded:
                uploaded[mt["code"]] = (mt, checks.get(mt["code"]))
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
        uploaded=list(uploaded.values()),
        flagged=any(check and check["status"] == "flagged" for _mt, check in uploaded.values()),
        item_of=catalogue.item,
        editable=all(c.status == "draft" for c in cases),
        error=error,
        posted=posted or {},
        field_errors=getattr(error, "fields", {}),
        source_name=lambda src: source_name(src, current_language(request)),
    )


@router.get("/services/bundle-applications/{app_id}", response_class=HTMLResponse)
def bundle_app_page(app_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    return _bundle_app_page(request, session, principal, app_id)


@router.post("/services/bundle-applications/{app_id}/form", response_class=HTMLResponse)
async def bundle_save(app_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    form = await request.form()
    posted = {k: v for k, v in form.items() if isinstance(v, str) and k.startswith("f.")}

    def run() -> Response:
        app, cases = bundles.get_bundle(session, principal, app_id)
        current, _sources = bundles.merged_form(cases)
        values = fields.parse_form(catalogue.bundle(app.bundle_code).fields(), posted, current)
        if values:
            bundles.update_form(session, principal, app_id, values)
        return RedirectResponse(f"/services/bundle-applications/{app_id}", status_code=303)

    # the body is read; the database work runs off the event loop, like a plain route's
    return await run_in_threadpool(
        guarded,
        request,
        session,
        run,
        lambda e, s: _bundle_app_page(request, session, principal, app_id, e, s, posted=posted),
    )


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

    # the body is read; the database work runs off the event loop, like a plain route's
    return await run_in_threadpool(
        guarded, request, session, run, lambda e, s: _bundle_app_page(request, session, principal, app_id, e, s)
    )


@router.post("/services/bundle-applications/{app_id}/delete", response_class=HTMLResponse)
def bundle_delete(app_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    """Delete a bundle application's drafts together (a draft of a bundle is not deleted alone)."""

    def run() -> Response:
        bundles.delete_drafts(session, principal, app_id)
        return RedirectResponse("/services?done=deleted#my-cases", status_code=303)

    return guarded(request, session, run, lambda e, s: _bundle_app_page(request, session, principal, app_id, e, s))


@router.post("/services/bundle-applications/{app_id}/submit", response_class=HTMLResponse)
def bundle_submit(
    app_id: CaseId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    confirm_flagged: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    def run() -> Response:
        bundles.submit(session, principal, app_id, confirm_flagged=confirm_flagged == "yes")
        return RedirectResponse(f"/services/bundle-applications/{app_id}", status_code=303)

    return guarded(request, session, run, lambda e, s: _bundle_app_page(request, session, principal, app_id, e, s))
