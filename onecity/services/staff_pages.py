"""Pages of the counter (a clerk applies for a resident), the officer workbench and the performance board."""

from __future__ import annotations

import json
from typing import Annotated

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
from onecity.web.deps import PagePrincipalDep
from onecity.web.forms import guarded, refusal
from onecity.web.i18n import translator
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)


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

    return guarded(request, session, run, lambda e, s: _counter(request, session, principal, id_number, e, s))


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

    return guarded(request, session, run, lambda e, s: _work(request, session, principal, e, s))


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
