"""The resident's offers (我的免申即享) and the officers' queue of objections, in Chinese and English.

A resident sees what the registries show they (or the firms they represent) are owed, takes
an offer up with one click or declines it, and objects when a policy missed them; an officer
of the area reads the objections with the table's decision on the resident's record and
answers each. The pages only call :mod:`onecity.benefits.offers`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.api.deps import SessionDep
from onecity.benefits import offers
from onecity.benefits.catalogue import BY_CODE, DEPARTMENTS, POLICIES
from onecity.core import policy
from onecity.core.divisions import Division
from onecity.core.errors import AuthenticationRequired
from onecity.core.identity.principal import Principal
from onecity.hub.registries.models import LegalPerson, Person
from onecity.services.models import Case
from onecity.web.deps import PagePrincipalDep
from onecity.web.forms import Refusal, guarded
from onecity.web.i18n import translator
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)


def _signed_in(principal: Principal, what: str) -> None:
    if not principal.is_authenticated:
        raise AuthenticationRequired(f"sign in with your own account to {what}")


def _offers_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    error: Refusal | None = None,
    status_code: int = 200,
    notice: str = "",
) -> Response:
    rows = offers.my_offers(session, principal)
    case_ids = [o.case_id for o in rows if o.case_id]
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(case_ids)))} if case_ids else {}
    firm_ids = [o.subject_id for o in rows if o.subject_kind == "legal_person"]
    firms = (
        {f.id: f.name for f in session.scalars(select(LegalPerson).where(LegalPerson.id.in_(firm_ids)))}
        if firm_ids
        else {}
    )
    return render(
        request,
        "benefits/offers.html",
        status_code=status_code,
        offers=rows,
        cases=cases,
        firms=firms,
        objections=offers.my_objections(session, principal),
        policies=BY_CODE,
        all_policies=POLICIES,
        departments=DEPARTMENTS,
        error=error,
        notice=notice,
        lang=current_language(request),
    )


@router.get("/benefits/offers", response_class=HTMLResponse)
def offers_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    """My offers: what the registries show I (or my firm) am owed, to take up with one click."""
    _signed_in(principal, "see your offers")
    return _offers_page(request, session, principal)


def _act(request: Request, session: Session, principal: Principal, run: Any, notice_key: str) -> Response:
    t = translator(current_language(request))

    def go() -> Response:
        run()
        return _offers_page(request, session, principal, notice=t(notice_key))

    return guarded(
        request,
        session,
        go,
        lambda e, s: _offers_page(request, session, principal, error=e, status_code=s),
    )


@router.post("/benefits/offers/{offer_id}/accept", response_class=HTMLResponse)
def offer_accept(
    offer_id: Annotated[str, Path(max_length=36)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
) -> Response:
    _signed_in(principal, "take up an offer")
    return _act(request, session, principal, lambda: offers.accept(session, principal, offer_id), "benefits.accepted")


@router.post("/benefits/offers/{offer_id}/decline", response_class=HTMLResponse)
def offer_decline(
    offer_id: Annotated[str, Path(max_length=36)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    reason: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    _signed_in(principal, "decline an offer")
    return _act(
        request, session, principal, lambda: offers.decline(session, principal, offer_id, reason), "benefits.declined"
    )


@router.post("/benefits/objections/new", response_class=HTMLResponse)
def objection_file(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    policy_code: Annotated[str, Form(max_length=40)],
    text: Annotated[str, Form(max_length=2000)],
    uscc: Annotated[str, Form(max_length=18)] = "",
) -> Response:
    _signed_in(principal, "object")
    return _act(
        request,
        session,
        principal,
        lambda: offers.object_to(session, principal, policy_code, text, uscc=uscc or None),
        "benefits.objected",
    )


# -- the officers' queue ----------------------------------------------------------------------------


def _queue(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    error: Refusal | None = None,
    status_code: int = 200,
    notice: str = "",
) -> Response:
    rows = offers.objections(session, principal)
    people = _names(session, Person, [o.person_id for o in rows])
    places = _district_names(session, [o.division_code for o in rows], current_language(request))
    return render(
        request,
        "benefits/objections.html",
        status_code=status_code,
        objections=rows,
        people=people,
        places=places,
        policies=BY_CODE,
        departments=DEPARTMENTS,
        error=error,
        notice=notice,
        lang=current_language(request),
    )


def _names(session: Session, model: Any, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {int(i): str(n) for i, n in session.execute(select(model.id, model.name).where(model.id.in_(ids)))}


def _district_names(session: Session, codes: list[str], lang: str) -> dict[str, str]:
    """Each division code's district, named in the reader's language."""
    districts = {c[:6] + "000000" for c in codes}
    if not districts:
        return {}
    found = {
        d.code: (d.name if lang == "zh" else d.name_en)
        for d in session.scalars(select(Division).where(Division.code.in_(districts)))
    }
    return {c: found.get(c[:6] + "000000", "") for c in codes}


@router.get("/benefits/objections", response_class=HTMLResponse)
def objections_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    """Objections of residents who think a policy missed them, in the officer's area, oldest first."""
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in as an officer")
    policy.require(principal, "benefits.objection.list")
    return _queue(request, session, principal)


@router.post("/benefits/objections/{objection_id}/answer", response_class=HTMLResponse)
def objection_answer(
    objection_id: Annotated[str, Path(max_length=36)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    outcome: Annotated[str, Form(max_length=10)],
    answer: Annotated[str, Form(max_length=2000)],
) -> Response:
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in as an officer")
    policy.require(principal, "benefits.objection.answer")

    def go() -> Response:
        offers.answer(session, principal, objection_id, outcome, answer)
        return RedirectResponse("/benefits/objections", status_code=303)

    return guarded(
        request,
        session,
        go,
        lambda e, s: _queue(request, session, principal, error=e, status_code=s),
    )
