"""The sharing workbench: my agency's requests, those awaiting my decision, the grants in force.

Each button posts one form (with the session's CSRF token) to one service function —
approve, refuse, withdraw, revoke — and comes back here; a refused action (wrong state,
missing reason) is shown at the top of the page with the service's own message.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from onecity.api.deps import SessionDep
from onecity.core.errors import AuthenticationRequired, DomainError, PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.hub.sharing import service
from onecity.hub.sharing.models import RequestStatus
from onecity.web import districts
from onecity.web.deps import PagePrincipalDep
from onecity.web.i18n import status_key, translator
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)

ACTIONS = {
    "approve": lambda s, p, rid, reason: service.approve_request(s, p, rid, reason=reason),
    "refuse": lambda s, p, rid, reason: service.refuse_request(s, p, rid, reason=reason),
    "withdraw": lambda s, p, rid, reason: service.withdraw_request(s, p, rid, reason=reason),
    "revoke": lambda s, p, rid, reason: service.revoke_request(s, p, rid, reason=reason),
}


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    status_code: int = 200,
    error: tuple[str, str] | None = None,
    done: str | None = None,
    created: bool = False,
) -> Response:
    incoming = service.list_requests(session, principal, box="incoming")
    outgoing = service.list_requests(session, principal, box="outgoing")
    pending = [v for v in incoming if v.request.status == RequestStatus.PENDING]
    grants = [v for v in incoming + outgoing if v.request.status == RequestStatus.APPROVED and v.live]
    codes = {v.request.scope_division_code for v in incoming + outgoing}
    return render(
        request,
        "sharing/sharing.html",
        status_code=status_code,
        pending=pending,
        outgoing=outgoing,
        grants=grants,
        names=districts.division_names(session, codes),
        error=error,
        done=done if done in {s.value for s in RequestStatus} else None,
        created=created,
    )


@router.get("/sharing", response_class=HTMLResponse)
def sharing_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    done: str | None = None,
    created: str | None = None,
) -> Response:
    return _page(request, session, principal, done=done, created=created is not None)


@router.post("/sharing/requests/{request_id}/{action}", response_class=HTMLResponse)
def act(
    request_id: str,
    action: str,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    run = ACTIONS.get(action)
    t = translator(current_language(request))
    if run is None:
        return _page(request, session, principal, status_code=404, error=(t(status_key(404)), action[:40]))
    try:
        with session.begin_nested():
            req = run(session, principal, request_id[:36], reason)
    except (AuthenticationRequired, PermissionDenied):
        raise
    except DomainError as err:
        return _page(request, session, principal, status_code=err.status, error=(t(status_key(err.status)), err.detail))
    return RedirectResponse(f"/sharing?done={req.status}", status_code=303)
