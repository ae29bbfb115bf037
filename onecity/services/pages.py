"""Pages of government services: the citizen portal, the counter, the officer workbench, performance.

Server-rendered forms, each posting to one service function and coming back to the page
(POST → redirect → GET); a refused action shows the service's own message. The only script
is the performance chart (ECharts, vendored), fed from a JSON data attribute (CSP
``script-src 'self'``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from onecity.api.deps import SessionDep
from onecity.core import policy
from onecity.core.errors import AuthenticationRequired, DomainError, InvalidInput, PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind
from onecity.services import bundles, catalogue, performance, service
from onecity.services import i18n as words
from onecity.services.models import Case, Rating
from onecity.web import i18n
from onecity.web.deps import PagePrincipalDep
from onecity.web.i18n import status_key, translator
from onecity.web.templating import current_language, render

i18n.extend(words.MESSAGES)

router = APIRouter(include_in_schema=False)
CaseId = Annotated[str, Path(max_length=36)]
MAX_UPLOAD = service.MAX_DOCUMENT_BYTES


def _error(request: Request, err: DomainError) -> tuple[str, str]:
    t = translator(current_language(request))
    return t(status_key(err.status)), err.detail


def _guarded(request: Request, session: Session, run: Callable[[], Response],
             again: Callable[[tuple[str, str], int], Response]) -> Response:
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
def portal(request: Request, session: SessionDep, principal: PagePrincipalDep,
           q: Annotated[str, Query(max_length=100)] = "") -> Response:
    mine: list[Case] = []
    if principal.kind in (PrincipalKind.CITIZEN, PrincipalKind.ENTERPRISE):
        try:
            mine = service.my_cases(session, principal, limit=50)
        except PermissionDenied:
            mine = []
    return render(request, "services/portal.html", items=catalogue.search(q), q=q, bundles=catalogue.bundles(),
                  mine=mine, departments=catalogue.departments(), is_resident=principal.kind is PrincipalKind.CITIZEN)


@router.get("/services/items/{code}", response_class=HTMLResponse)
def item_page(code: Annotated[str, Path(max_length=24)], request: Request, principal: PagePrincipalDep,
              error: tuple[str, str] | None = None, status_code: int = 200) -> Response:
    it = catalogue.item(code)
    return render(request, "services/item.html", status_code=status_code, item=it,
                  dept=catalogue.department(it.department), materials=it.material_specs(),
                  fields=[(n, catalogue.field(n)) for n in it.fields], error=error,
                  can_apply=principal.kind is PrincipalKind.CITIZEN)


@router.post("/services/items/{code}/apply", response_class=HTMLResponse)
def apply(code: Annotated[str, Path(max_length=24)], request: Request, session: SessionDep,
          principal: PagePrincipalDep, uscc: Annotated[str, Form(max_length=18)] = "") -> Response:
    def run() -> Response:
        case = service.start_case(session, principal, code, uscc=uscc or None)
        return RedirectResponse(f"/services/cases/{case.id}", status_code=303)

    return _guarded(request, session, run,
                    lambda e, s: item_page(code, request, principal, error=e, status_code=s))


# -- one case ----------------------------------------------------------------------------------------

def _case_page(request: Request, session: Session, principal: Principal, case_id: str,
               error: tuple[str, str] | None = None, status_code: int = 200) -> Response:
    case = service.get_case(session, principal, case_id)
    it = catalogue.item(case.item_code)
    rating = session.query(Rating).filter(Rating.case_id == case.id).one_or_none()
    is_party = principal.kind is not PrincipalKind.STAFF or principal.has_role(*service.STAFF_ROLES)
    return render(request, "services/case.html", status_code=status_code, case=case, item=it,
                  fields=[(n, catalogue.field(n)) for n in it.fields], missing=service.missing_materials(case),
                  history=service.history(session, case), rating=rating, error=error,
                  editable=case.status in ("draft", "supplement") and is_party,
                  is_applicant=principal.kind is not PrincipalKind.STAFF)


@router.get("/services/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    return _case_page(request, session, principal, case_id)


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
async def upload(case_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep,
                 material_code: Annotated[str, Form(max_length=40)], file: UploadFile) -> Response:
    content = await file.read(MAX_UPLOAD + 1)

    def run() -> Response:
        service.attach_document(session, principal, case_id, material_code, filename=file.filename or "scan",
                                content_type=file.content_type or "application/octet-stream", content=content)
        return RedirectResponse(f"/services/cases/{case_id}", status_code=303)

    return _guarded(request, session, run, lambda e, s: _case_page(request, session, principal, case_id, e, s))


ACTIONS: dict[str, Callable[[Session, Principal, str, str], Any]] = {
    "submit": lambda s, p, cid, _r: service.submit(s, p, cid),
    "resubmit": lambda s, p, cid, _r: service.resubmit(s, p, cid),
    "withdraw": lambda s, p, cid, r: service.withdraw(s, p, cid, r),
}


@router.post("/services/cases/{case_id}/{action}", response_class=HTMLResponse)
def case_action(case_id: CaseId, action: Annotated[str, Path(max_length=20)], request: Request,
                session: SessionDep, principal: PagePrincipalDep,
                reason: Annotated[str, Form(max_length=500)] = "", stars: Annotated[int, Form(ge=0, le=5)] = 0,
                comment: Annotated[str, Form(max_length=1000)] = "") -> Response:
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
def bundle_page(code: Annotated[str, Path(max_length=40)], request: Request, principal: PagePrincipalDep,
                error: tuple[str, str] | None = None, status_code: int = 200) -> Response:
    b = catalogue.bundle(code)
    return render(request, "services/bundle.html", status_code=status_code, bundle=b, burden=b.burden(),
                  departments=catalogue.departments(), error=error,
                  can_apply=principal.kind is PrincipalKind.CITIZEN)


@router.post("/services/bundles/{code}/apply", response_class=HTMLResponse)
def bundle_apply(code: Annotated[str, Path(max_length=40)], request: Request, session: SessionDep,
                 principal: PagePrincipalDep, uscc: Annotated[str, Form(max_length=18)] = "") -> Response:
    def run() -> Response:
        app = bundles.start_bundle(session, principal, code, uscc=uscc or None)
        return RedirectResponse(f"/services/bundle-applications/{app.id}", status_code=303)

    return _guarded(request, session, run,
                    lambda e, s: bundle_page(code, request, principal, error=e, status_code=s))


def _bundle_app_page(request: Request, session: Session, principal: Principal, app_id: str,
                     error: tuple[str, str] | None = None, status_code: int = 200) -> Response:
    app, cases = bundles.get_bundle(session, principal, app_id)
    b = catalogue.bundle(app.bundle_code)
    form, sources = bundles.merged_form(cases)
    return render(request, "services/bundle_app.html", status_code=status_code, app=app, bundle=b, cases=cases,
                  form=form, sources=sources, fields=[(n, catalogue.field(n)) for n in b.fields()],
                  missing=bundles.missing(cases), editable=all(c.status == "draft" for c in cases), error=error)


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

    return _guarded(request, session, run,
                    lambda e, s: _bundle_app_page(request, session, principal, app_id, e, s))


@router.post("/services/bundle-applications/{app_id}/documents", response_class=HTMLResponse)
async def bundle_upload(app_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep,
                        material_code: Annotated[str, Form(max_length=40)], file: UploadFile) -> Response:
    content = await file.read(MAX_UPLOAD + 1)

    def run() -> Response:
        bundles.attach_document(session, principal, app_id, material_code, filename=file.filename or "scan",
                                content_type=file.content_type or "application/octet-stream", content=content)
        return RedirectResponse(f"/services/bundle-applications/{app_id}", status_code=303)

    return _guarded(request, session, run,
                    lambda e, s: _bundle_app_page(request, session, principal, app_id, e, s))


@router.post("/services/bundle-applications/{app_id}/submit", response_class=HTMLResponse)
def bundle_submit(app_id: CaseId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    def run() -> Response:
        bundles.submit(session, principal, app_id)
        return RedirectResponse(f"/services/bundle-applications/{app_id}", status_code=303)

    return _guarded(request, session, run,
                    lambda e, s: _bundle_app_page(request, session, principal, app_id, e, s))


# -- counter -------------------------------------------------------------------------------------------

def _counter(request: Request, session: Session, principal: Principal, id_number: str,
             error: tuple[str, str] | None = None, status_code: int = 200) -> Response:
    cases: list[Case] = []
    if id_number and error is None:
        try:
            with session.begin_nested():
                cases = service.cases_of_person(session, principal, id_number)
        except (AuthenticationRequired, PermissionDenied):
            raise
        except DomainError as err:
            error, status_code = _error(request, err), err.status
    return render(request, "services/counter.html", status_code=status_code, id_number=id_number, cases=cases,
                  items=catalogue.items(), error=error)


@router.get("/services/counter", response_class=HTMLResponse)
def counter_page(request: Request, session: SessionDep, principal: PagePrincipalDep,
                 id_number: Annotated[str, Query(max_length=18)] = "") -> Response:
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in as a counter clerk")
    return _counter(request, session, principal, id_number.strip().upper())


@router.post("/services/counter/apply", response_class=HTMLResponse)
def counter_apply(request: Request, session: SessionDep, principal: PagePrincipalDep,
                  id_number: Annotated[str, Form(max_length=18)], item_code: Annotated[str, Form(max_length=24)],
                  uscc: Annotated[str, Form(max_length=18)] = "",
                  identity_checked: Annotated[str, Form(max_length=5)] = "") -> Response:
    def run() -> Response:
        case = service.start_case(session, principal, item_code, id_number=id_number.strip().upper(),
                                  uscc=uscc.strip() or None, identity_checked=identity_checked == "yes")
        return RedirectResponse(f"/services/cases/{case.id}", status_code=303)

    return _guarded(request, session, run, lambda e, s: _counter(request, session, principal, id_number, e, s))


# -- workbench -------------------------------------------------------------------------------------

def _work(request: Request, session: Session, principal: Principal, error: tuple[str, str] | None = None,
          status_code: int = 200) -> Response:
    policy.require(principal, "services.work.list")  # before anything is written for the visitor
    with session.begin_nested():
        service.refresh_clocks(session)
    queue = service.work_queue(session, principal)
    return render(request, "services/work.html", status_code=status_code, queue=queue, outcomes=service.OUTCOMES,
                  items={it.code: it for it in catalogue.items()}, error=error)


@router.get("/services/work", response_class=HTMLResponse)
def work_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    return _work(request, session, principal)


@router.post("/services/work/{work_item_id}", response_class=HTMLResponse)
def work_done(work_item_id: Annotated[str, Path(max_length=36)], request: Request, session: SessionDep,
              principal: PagePrincipalDep, outcome: Annotated[str, Form(max_length=20)],
              reason: Annotated[str, Form(max_length=2000)] = "",
              missing: Annotated[list[str] | None, Form(max_length=40)] = None) -> Response:
    def run() -> Response:
        codes = [c.strip() for c in (missing or []) if c.strip()][:50]
        service.complete_task(session, principal, work_item_id, outcome, reason=reason, missing=codes)
        return RedirectResponse("/services/work", status_code=303)

    return _guarded(request, session, run, lambda e, s: _work(request, session, principal, e, s))


# -- performance -------------------------------------------------------------------------------------

@router.get("/services/performance", response_class=HTMLResponse)
def performance_page(request: Request, session: SessionDep,
                     by: Annotated[str, Query(pattern="^(department|district|item)$")] = "department") -> Response:
    rows = performance.figures(session, by)
    t = translator(current_language(request))
    chart = {"names": [t("services.perf.volume"), t("services.perf.within"), t("services.perf.prefilled")],
             "labels": [r["name"] if current_language(request) == "zh" else r["name_en"] for r in rows],
             "volume": [r["volume"] for r in rows],
             "within": [r["within_time_limit_rate"] for r in rows],
             "prefilled": [r["prefilled_field_share"] for r in rows]}
    return render(request, "services/performance.html", rows=rows, by=by, chart=json.dumps(chart, ensure_ascii=False),
                  ratings=performance.ratings_by_department(session))
