"""Signing in for API clients: the OAuth2 password flow, and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool

from onecity.api.deps import DatabaseDep, PrincipalDep, SessionDep, SettingsDep
from onecity.api.schemas import PasswordChange, TokenPublic, UserPublic
from onecity.api.users_view import caller_public, user_public
from onecity.core.errors import AuthenticationRequired, PermissionDenied, Words
from onecity.core.identity import auth, service
from onecity.core.identity.callers import Caller
from onecity.core.identity.roles import PrincipalKind

router = APIRouter(prefix="/auth", tags=["auth"])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/token", response_model=TokenPublic, summary="OAuth2 password flow: exchange credentials for a JWT")
def token(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> TokenPublic:
    user = auth.authenticate(db, settings, username, password, client_address(request))
    if user is None:
        raise AuthenticationRequired(auth.BAD_CREDENTIALS)
    if user.must_change_password:  # whoever handed the temporary password over knows it too
        raise PermissionDenied(
            "this password was reset by an administrator: choose your own at /account/password first",
            words=Words("password.api_refused"),
        )
    access, expires = auth.issue_token(settings, user)
    return TokenPublic(access_token=access, expires_in=expires)


@router.get("/me", response_model=UserPublic, summary="The signed-in user")
async def me(request: Request, session: SessionDep, principal: PrincipalDep) -> UserPublic:
    """The caller's own record: from the caller cache when a bearer token resolved it (no read,
    no thread hop), else read as :func:`service.get_user` reads it (a browser session)."""
    if principal.kind is PrincipalKind.SYSTEM:
        raise AuthenticationRequired("API keys are not users; /auth/me is for people")
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is not None and caller.profile is not None and caller.principal is principal:
        return caller_public(principal, caller.profile)

    def read() -> UserPublic:
        return user_public(service.get_user(session, principal, principal.id, purpose=None))

    return await run_in_threadpool(read)


@router.post("/password", status_code=204, summary="Change my password")
def change_password(body: PasswordChange, session: SessionDep, principal: PrincipalDep) -> None:
    service.change_password(session, principal, current=body.current_password, new=body.new_password)
