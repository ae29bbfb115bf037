"""Pages of the counter (a clerk applies for a resident), the officer workbench and the performance board."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.api.deps import SessionDep
from onecity.core import policy
from onecity.core.errors import AuthenticationRequired, DomainError, PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.services import advice, catalogue, performance, service
from onecity.services.models import Case, PreReview, PreReviewOutcome
from onecity.services.presentation import case_documents, kept_uploads, officer_name, prereview_view, source_name
from onecity.web.deps import PagePrincipalDep
from onecity.web.forms import guarded, refusal
from onecity.web.i18n import translator
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)


def clerk_only(principal: Principal, action: str) -> None:
    """The counter's pages are for clerks: a visitor not signed in is sent to sign in, anyone else
    without the action's role gets the 403 page (before anything is read for them)."""
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in as a counter clerk")
    policy.require(principal, action)


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
            error, status_code = refusal(request, err), err.status
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
    clerk_only(principal, "services.case.counter")
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

    return guarded(request, session, run, lambda e, s: _counter(request, session, principal, id_number, e, s))


PAGE_SIZE = 25


@dataclass(frozen=True)
class QueueFilters:
    """The queue's search and filters, as the page's query string keeps them across pages."""

    q: str = ""
    item: str = ""
    status: str = ""
    overdue: bool = False
    assigned: str = ""
    page: int = 1

    def query(self) -> dict[str, str]:
        pairs = (
            ("q", self.q),
            ("item", self.item),
            ("status", self.status),
            ("overdue", "true" if self.overdue else ""),
            ("assigned", self.assigned),
        )
        return {k: v for k, v in pairs if v}


def _work(
    request: Request,
    session: Session,
    principal: Principal,
    filters: QueueFilters | None = None,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
    notice: str = "",
) -> Response:
    policy.require(principal, "services.work.list")  # before anything is written for the visitor
    f = filters or QueueFilters()
    with session.begin_nested():
        service.refresh_clocks(session)
    try:
        with session.begin_nested():
            found = service.work_queue(
                session,
                principal,
                PAGE_SIZE + 1,
                offset=(f.page - 1) * PAGE_SIZE,
                query=f.q,
                item_code=f.item,
                status=f.status,
                overdue=f.overdue,
                assigned=f.assigned,
            )
    except (AuthenticationRequired, PermissionDenied):
        raise
    except DomainError as err:
        found, error, status_code = [], refusal(request, err), err.status
    queue, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    reviews = latest_reviews(session, [c.id for _w, c in queue])
    holders = {w.assigned_to for w, _c in queue if w.assigned_to and w.assigned_to != principal.ref}
    query = f.query()
    return render(
        request,
        "services/work.html",
        status_code=status_code,
        queue=queue,
        items={it.code: it for it in catalogue.items()},
        item_choices=catalogue.items(),
        statuses=[str(s) for s in service.QUEUE_STATUSES],
        assigned_choices=service.ASSIGNED_FILTERS,
        filters=f,
        query=query,
        back=urlencode(query),
        page=f.page,
        more=more,
        names={ref: officer_name(session, ref) for ref in holders},
        error=error,
        notice=notice,
        reviews=reviews,
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
def work_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    q: Annotated[str, Query(max_length=100)] = "",
    item: Annotated[str, Query(max_length=24)] = "",
    status: Annotated[str, Query(max_length=12)] = "",
    overdue: bool = False,
    assigned: Annotated[str, Query(max_length=12)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    done: Annotated[str, Query(max_length=20)] = "",
    number: Annotated[str, Query(max_length=24, pattern="^[0-9A-Za-z-]*$")] = "",
) -> Response:
    """The officer's queue, searchable by applicant, case number or item, filtered, 25 a page;
    ``done`` and ``number`` say what the officer just did (a task done, a task handed on)."""
    filters = QueueFilters(q=q.strip(), item=item, status=status, overdue=overdue, assigned=assigned, page=page)
    t = translator(current_language(request))
    notice = ""
    if done == "reassigned":
        notice = t("services.work.reassigned", number=number)
    elif any(done in outcomes for outcomes in service.OUTCOMES.values()):
        notice = t("services.work.done", number=number, what=t(f"services.outcome.{done}"))
    return _work(request, session, principal, filters, notice=notice)


WorkItemId = Annotated[str, Path(max_length=36)]


def _task(
    request: Request,
    session: Session,
    principal: Principal,
    work_item_id: str,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
    *,
    confirm: dict[str, str] | None = None,
    notice: str = "",
) -> Response:
    """One task with what the officer needs to do it: the case, every upload, the pre-review, the forms."""
    task, case = service.queued_task(session, principal, work_item_id)
    lang = current_language(request)
    review = advice.latest(session, case.id)
    kind = next(k for k in service.OUTCOMES if task.task_name.startswith(k))
    pr = prereview_view(session, case, lang)
    machine_read = {str(d.get("document_id")) for d in (pr or {}).get("documents", [])}
    mine = task.assigned_to == principal.ref
    return render(
        request,
        "services/task.html",
        status_code=status_code,
        task=task,
        case=case,
        item=catalogue.item(case.item_code),
        kind=kind,
        outcomes=service.OUTCOMES[kind],
        pr=pr,
        documents=case_documents(session, case, lang, machine_read),
        kept=kept_uploads(session, case, lang, staff=True),
        source_name=lambda src: source_name(src, lang),
        mine=mine,
        may_act=task.assigned_to is None or mine,
        assignee_name=officer_name(session, task.assigned_to),
        colleagues=service.colleagues(session, principal, task) if task.assigned_to is None or mine else [],
        against=lambda outcome: (
            review is not None and review.overridden_by is None and advice.contradicts(review, kind, outcome)
        ),
        to_correct=(
            {str(c.get("material")) for c in (review.corrections or [])}
            if review is not None and review.outcome == PreReviewOutcome.NEEDS_CORRECTION
            else set()
        ),
        confirm=confirm,
        version=service.case_version(case),
        error=error,
        notice=notice,
    )


@router.get("/services/work/{work_item_id}", response_class=HTMLResponse)
def task_page(work_item_id: WorkItemId, request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    """A task of the officer's queue: the decision forms beside every upload of the case."""
    return _task(request, session, principal, work_item_id)


@router.post("/services/work/{work_item_id}", response_class=HTMLResponse)
def work_done(
    work_item_id: WorkItemId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    outcome: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    missing: Annotated[list[str] | None, Form(max_length=40)] = None,
    confirm: Annotated[str, Form(max_length=5)] = "",
    version: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Do a task; a decision (approve, refuse) is asked again before it is taken, and the confirmation
    carries the version of the case it showed: a case that changed in between is not decided."""
    if outcome in service.OUTCOMES["decide"] and confirm != "yes":
        return _task(request, session, principal, work_item_id, confirm={"outcome": outcome, "reason": reason.strip()})

    def run() -> Response:
        codes = [c.strip() for c in (missing or []) if c.strip()][:50]
        case = service.complete_task(
            session, principal, work_item_id, outcome, reason=reason, missing=codes, expected_version=version or None
        )
        return RedirectResponse("/services/work?" + urlencode({"done": outcome, "number": case.number}), 303)

    return guarded(request, session, run, lambda e, s: _task(request, session, principal, work_item_id, e, s))


def _back(back: str) -> str:
    """The queue page the officer came from (its filters), never another site."""
    return "/services/work" + ("?" + back if back and "//" not in back and not back.startswith("/") else "")


@router.post("/services/work/{work_item_id}/claim", response_class=HTMLResponse)
def work_claim(
    work_item_id: WorkItemId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    back: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Take a task from the queue: it waits for this officer alone."""

    def run() -> Response:
        service.claim_task(session, principal, work_item_id)
        target = f"/services/work/{work_item_id}" if back == "task" else _back(back)
        return RedirectResponse(target, status_code=303)

    return guarded(request, session, run, lambda e, s: _work(request, session, principal, error=e, status_code=s))


@router.post("/services/work/{work_item_id}/reassign", response_class=HTMLResponse)
def work_reassign(
    work_item_id: WorkItemId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    to: Annotated[str, Form(max_length=36)] = "",
    reason: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Hand a task to a colleague of the same department who can do it."""

    def run() -> Response:
        task = service.reassign_task(session, principal, work_item_id, to, reason)
        case = session.get(Case, task.case_id)
        number = case.number if case is not None else ""
        return RedirectResponse("/services/work?" + urlencode({"done": "reassigned", "number": number}), 303)

    return guarded(request, session, run, lambda e, s: _task(request, session, principal, work_item_id, e, s))


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
