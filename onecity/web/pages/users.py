"""User administration for a district's (or the city's) administrators.

The service functions hold every rule (who may list, create, in which area); this page
shows their answers. A domain error from the form (bad input, a taken username) is shown
beside the form with its status; "not allowed" is the 403 page and "not signed in" the
sign-in form, like every other page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from onecity.api.deps import SESSION_COOKIE, SessionDep
from onecity.core import policy
from onecity.core.divisions import contains
from onecity.core.errors import AuthenticationRequired, DomainError, InvalidInput, NotFound, PermissionDenied
from onecity.core.identity import service
from onecity.core.identity.passwords import MIN_LENGTH, HashedPassword, prehash
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.web import districts
from onecity.web.deps import PagePrincipalDep
from onecity.web.forms import guarded
from onecity.web.i18n import status_key, translator
from onecity.web.templating import current_language, render

router = APIRouter(prefix="/admin", include_in_schema=False)

FormText = Annotated[str, Form(max_length=200)]
PAGE_SIZE = 50


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    status_code: int = 200,
    error: tuple[str, str] | None = None,
    form: dict[str, object] | None = None,
    created: str | None = None,
    q: str = "",
    sim: bool = False,
    page: int = 1,
) -> Response:
    found = service.list_users(
        session, principal, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, query=q, simulated=sim
    )
    users, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    codes = {u.division_code for u in users if u.division_code}
    can_create = policy.may(principal, "core.user.create") and principal.division_code is not None
    agencies, divisions = [], []
    if can_create and principal.division_code is not None:
        area = principal.division_code
        agencies = [a for a in service.list_agencies(session, principal) if contains(area, a.division_code)]
        divisions = districts.divisions_within(session, area)
        codes.add(area)
    return render(
        request,
        "admin_users.html",
        status_code=status_code,
        users=users,
        division_names=districts.division_names(session, codes),
        can_create=can_create,
        agencies=agencies,
        divisions=divisions,
        roles=list(Role),
        error=error,
        form=form or {},
        created=created,
        min_length=MIN_LENGTH,
        search={k: v for k, v in (("q", q), ("sim", "1" if sim else "")) if v},
        q=q,
        sim=sim,
        page=page,
        more=more,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    created: str | None = None,
    q: Annotated[str, Query(max_length=64)] = "",
    sim: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The area's users, fifty a page; the simulated city's accounts only when asked for."""
    return _page(request, session, principal, created=created, q=q, sim=sim, page=page)


@router.post("/users", response_class=HTMLResponse)
def create_staff_user(
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    username: FormText = "",
    display_name: FormText = "",
    password: FormText = "",
    agency_code: FormText = "",
    division_code: FormText = "",
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies it)
) -> Response:
    form: dict[str, object] = {
        "username": username,
        "display_name": display_name,
        "agency_code": agency_code,
        "division_code": division_code,
        "roles": roles,
    }
    try:
        with session.begin_nested():  # a refused form leaves nothing behind, the page still renders
            chosen = [_role(r) for r in roles]
            user = service.create_user(
                session,
                principal,
                username=username,
                password=password,
                kind=PrincipalKind.STAFF,
                roles=chosen,
                agency_code=agency_code or None,
                division_code=division_code or None,
                display_name=display_name.strip(),
            )
    except (AuthenticationRequired, PermissionDenied):
        raise
    except DomainError as err:
        status = 422 if isinstance(err, NotFound) else err.status
        t = translator(current_language(request))
        return _page(
            request, session, principal, status_code=status, error=(t(status_key(status)), err.detail), form=form
        )
    return RedirectResponse(f"/admin/users?created={user.username}", status_code=303)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as err:
        raise InvalidInput(f"unknown role {value!r}; choose from {', '.join(r.value for r in Role)}") from err


UserId = Annotated[str, Path(max_length=36)]
#: Why an administrator changed an account: kept with the audit entry.
PURPOSE = "user administration"


def _user_page(
    request: Request,
    session: Session,
    principal: Principal,
    user_id: str,
    error: tuple[str, str] | None = None,
    status_code: int = 200,
    *,
    notice: str = "",
    temporary: str = "",
) -> Response:
    """One account: its roles (the ones the administrator may grant), enabling, a password reset."""
    user = service.get_user(session, principal, user_id, purpose=PURPOSE)
    codes = {user.division_code} if user.division_code else set()
    held = {str(r) for r in principal.roles}
    response = render(
        request,
        "admin_user.html",
        status_code=status_code,
        user=user,
        division_names=districts.division_names(session, codes),
        roles=list(Role),
        grantable={r.value for r in Role if r.value in held},
        is_self=user.id == principal.id,
        is_staff=PrincipalKind(user.kind) is PrincipalKind.STAFF,
        error=error,
        notice=notice,
        temporary=temporary,
    )
    if temporary:
        response.headers["Cache-Control"] = "no-store"  # the password is shown once, never kept
    return response


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(
    user_id: UserId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    done: Annotated[str, Query(pattern="^(roles|enabled|disabled|)$")] = "",
) -> Response:
    """An account of the administrator's area (the read is audited)."""
    t = translator(current_language(request))
    return _user_page(request, session, principal, user_id, notice=t(f"users.edit.done.{done}") if done else "")


@router.post("/users/{user_id}/roles", response_class=HTMLResponse)
def user_roles(
    user_id: UserId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies it)
) -> Response:
    """Change a staff member's roles (only roles the administrator holds can be granted)."""

    def run() -> Response:
        service.update_user(session, principal, user_id, roles=[_role(r) for r in roles], reason=PURPOSE)
        return RedirectResponse(f"/admin/users/{user_id}?done=roles", status_code=303)

    return guarded(request, session, run, lambda e, s: _user_page(request, session, principal, user_id, e, s))


@router.post("/users/{user_id}/active", response_class=HTMLResponse)
def user_active(
    user_id: UserId,
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
    active: Annotated[str, Form(pattern="^(yes|no)$")],
) -> Response:
    """Disable an account (it can no longer sign in; its sessions stop working) or enable it again."""

    def run() -> Response:
        service.update_user(session, principal, user_id, active=active == "yes", reason=PURPOSE)
        done = "enabled" if active == "yes" else "disabled"
        return RedirectResponse(f"/admin/users/{user_id}?done={done}", status_code=303)

    return guarded(request, session, run, lambda e, s: _user_page(request, session, principal, user_id, e, s))


def _fresh_password(request: Request) -> tuple[str, HashedPassword | None]:
    """A temporary password and its hash, made before the request's transaction opens (Argon2 takes
    half a second of a core: SQLite's writer is not held for it). A dependency listed before the
    principal's, so it runs first; a caller without a browser session (refused next) costs no hash."""
    if not request.cookies.get(SESSION_COOKIE):
        return "", None
    temporary = service.temporary_password()
    return temporary, prehash(temporary)


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
def user_password_reset(
    user_id: UserId,
    fresh: Annotated[tuple[str, HashedPassword | None], Depends(_fresh_password)],
    request: Request,
    session: SessionDep,
    principal: PagePrincipalDep,
) -> Response:
    """Give the account a temporary password, shown once on this answer (never in a link or a log)."""
    t = translator(current_language(request))
    temporary, hashed = fresh
    if hashed is None:
        if not principal.is_authenticated:
            raise AuthenticationRequired("sign in as an administrator")
        policy.require(principal, "core.user.update")  # an API key's caller: hashed here, after its check
        temporary = service.temporary_password()
        hashed = prehash(temporary)

    def run() -> Response:
        service.reset_password(session, principal, user_id, password=hashed, reason=PURPOSE)
        return _user_page(
            request, session, principal, user_id, notice=t("users.edit.done.password"), temporary=temporary
        )

    return guarded(request, session, run, lambda e, s: _user_page(request, session, principal, user_id, e, s))
