"""Changing one's own password from the browser; the form every page leads to after an administrator's reset.

An administrator's reset (``/admin/users/{id}``) gives a temporary password that someone else has
seen, so the account is marked ``must_change_password``: until the user chooses their own here,
every page answers with a redirect to this form (:func:`onecity.web.deps.page_principal`). The
change is :func:`onecity.core.identity.service.change_password`, audited as
``core.user.password_changed`` (``after_reset`` says whether it was the forced one).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from onecity.api.deps import SessionDep
from onecity.core.errors import AuthenticationRequired, InvalidInput, Words
from onecity.core.identity import service
from onecity.core.identity.models import User
from onecity.core.identity.principal import Principal
from onecity.web.deps import PASSWORD_PAGE, PagePrincipalDep
from onecity.web.forms import Refusal, guarded
from onecity.web.safety import safe_next
from onecity.web.templating import render

router = APIRouter(include_in_schema=False)

Secret = Annotated[str, Form(max_length=200)]


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    next_path: str,
    error: Refusal | None = None,
    status_code: int = 200,
) -> Response:
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in to change your password")
    user = session.get(User, principal.id)
    return render(
        request,
        "password.html",
        status_code=status_code,
        no_store=True,
        forced=bool(user and user.must_change_password),
        next_path=safe_next(next_path),
        error=error,
        field_errors=getattr(error, "fields", {}),
    )


@router.get(PASSWORD_PAGE, response_class=HTMLResponse)
def password_page(
    request: Request, session: SessionDep, principal: PagePrincipalDep, next: str | None = None
) -> Response:
    return _page(request, session, principal, next or "/")


@router.post(PASSWORD_PAGE, response_class=HTMLResponse)
def password_change(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    current: Secret = "",
    new: Secret = "",
    again: Secret = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in to change your password")

    def run() -> Response:
        if new != again:
            raise InvalidInput(
                "the two new passwords differ",
                words=Words("password.differ"),
                fields={"again": Words("password.differ")},
            )
        service.change_password(session, principal, current=current, new=new)
        return RedirectResponse(safe_next(next), status_code=303)

    return guarded(request, session, run, lambda e, s: _page(request, session, principal, next, e, s))
