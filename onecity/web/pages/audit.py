"""The audit log for auditors: the latest entries in their area, and a chain check."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from onecity.api.deps import SessionDep
from onecity.core import audit_queries, policy
from onecity.core.audit import VerifyResult
from onecity.core.identity.principal import Principal
from onecity.web import districts
from onecity.web.deps import PagePrincipalDep
from onecity.web.templating import render

router = APIRouter(include_in_schema=False)

LATEST = 100


def _page(request: Request, session: Session, principal: Principal, verified: VerifyResult | None = None) -> Response:
    entries = audit_queries.search(session, principal, limit=LATEST)
    codes = {e.division_code for e in entries if e.division_code}
    # verifying reads the whole chain, so only municipal auditors may (the service says so too)
    can_verify = policy.may(principal, "core.audit.verify") and policy.in_scope(session, principal, "core.audit", None)
    return render(
        request,
        "audit.html",
        entries=entries,
        names=districts.division_names(session, codes),
        can_verify=can_verify,
        verified=verified,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    return _page(request, session, principal)


@router.post("/audit/verify", response_class=HTMLResponse)
def verify_chain(request: Request, session: SessionDep, principal: PagePrincipalDep) -> Response:
    result = audit_queries.verify(session, principal)
    return _page(request, session, principal, verified=result)
