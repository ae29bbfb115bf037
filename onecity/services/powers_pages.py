"""Powers of attorney (授权委托): a resident grants and revokes theirs; a clerk records one brought on paper."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from onecity.api.deps import SessionDep
from onecity.core import clock
from onecity.core.errors import AuthenticationRequired, InvalidInput
from onecity.core.identity.principal import Principal
from onecity.hub.registries import relations
from onecity.services import catalogue
from onecity.services.staff_pages import clerk_only
from onecity.web.deps import PagePrincipalDep
from onecity.web.forms import guarded
from onecity.web.i18n import translator
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)


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

    return guarded(
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

    return guarded(
        request, session, run, lambda e, s: _powers(request, session, principal, counter=False, error=e, status_code=s)
    )


@router.get("/services/counter/powers", response_class=HTMLResponse)
def counter_powers_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    """The counter's form to record a power of attorney after checking both identity documents."""
    clerk_only(principal, "hub.registry.poa.record")
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
    clerk_only(principal, "hub.registry.poa.record")
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
