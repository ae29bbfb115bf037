"""Signing in and out through the browser: a form, a session cookie, CSRF on both.

The checks are the API's (``auth.authenticate`` with its throttle, ``auth.open_session``);
this module only turns them into a form, a cookie and a redirect.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from onecity.api.deps import SESSION_COOKIE, DatabaseDep, MaybePrincipalDep, SessionDep, SettingsDep
from onecity.core.errors import TooManyAttempts
from onecity.core.identity import auth
from onecity.web.deps import PagePrincipalDep
from onecity.web.i18n import translator
from onecity.web.safety import (
    LOGIN_CSRF_COOKIE,
    check_login_csrf,
    is_https,
    login_form_token,
    login_nonce,
    remember_login_nonce,
    safe_next,
)
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form(max_length=200)]

#: What the sign-in page confirms after registration or a reset (``?done=``).
DONE = {"registered": "login.registered", "reset": "login.reset_done"}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_form(
    request: Request,
    secret_key: str,
    *,
    next_path: str | None,
    status_code: int = 200,
    error: str | None = None,
    username: str = "",
    headers: dict[str, str] | None = None,
    done: str | None = None,
) -> Response:
    """The sign-in form, with a fresh double-submit token (its nonce cookie set on the response)."""
    nonce = login_nonce(request)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        headers=headers,
        no_store=True,
        login_token=login_form_token(secret_key, nonce),
        next_path=safe_next(next_path),
        error=error,
        username=username,
        done=DONE.get(done or ""),
    )
    remember_login_nonce(request, response, nonce)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    settings: SettingsDep,
    principal: PagePrincipalDep,
    next: str | None = None,
    done: str | None = None,
) -> Response:
    return login_form(request, settings.secret_key, next_path=next, done=done)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    username: FormText = "",
    password: FormText = "",
    csrf_token: FormText = "",
    next: FormText = "/",
) -> Response:
    t = translator(current_language(request))
    if not check_login_csrf(request, csrf_token, settings.secret_key):
        return login_form(
            request, settings.secret_key, next_path=next, status_code=403, error=t("login.csrf"), username=username
        )
    if not username.strip() or not password:
        return login_form(
            request, settings.secret_key, next_path=next, status_code=422, error=t("login.missing"), username=username
        )
    try:
        user = auth.authenticate(db, settings, username, password, client_address(request))
    except TooManyAttempts as err:
        return login_form(
            request,
            settings.secret_key,
            next_path=next,
            status_code=429,
            error=t("login.throttled", minutes=max(1, math.ceil(err.retry_after / 60))),
            username=username,
            headers={"Retry-After": str(err.retry_after)},
        )
    if user is None:
        return login_form(
            request,
            settings.secret_key,
            next_path=next,
            status_code=401,
            error=t("login.bad_credentials"),
            username=username,
        )
    previous = request.cookies.get(SESSION_COOKIE)
    with db.transaction() as session:
        if previous:
            auth.close_session(session, previous)
        token, _row = auth.open_session(session, settings, user)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, principal: MaybePrincipalDep) -> RedirectResponse:
    """End the browser session. The CSRF token was already checked while resolving the principal."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and getattr(request.state, "web_session", None) is not None:
        auth.close_session(session, cookie)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))
    return response
