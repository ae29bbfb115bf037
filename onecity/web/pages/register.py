"""Registering as a resident and resetting a forgotten password, each in two steps: ask for a code, use it.

The checks are the services' (``hub.sharing.registration``, ``core.identity.recovery``); these
pages turn them into forms. They live under ``/login/`` so that the sign-in form's CSRF
double-submit cookie (scoped to ``/login``) guards them too. Every refusal is said in the
reader's language beside the field it is about; a throttled visitor gets 429.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from onecity.api.deps import DatabaseDep, SettingsDep
from onecity.core.config import Settings
from onecity.core.errors import Conflict, DomainError, InvalidInput, TooManyAttempts, Words
from onecity.core.identity import recovery
from onecity.hub.sharing import registration
from onecity.web.i18n import say, translator
from onecity.web.pages.account import client_address
from onecity.web.safety import check_login_csrf, login_form_token, login_nonce, remember_login_nonce
from onecity.web.templating import current_language, render

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=200)]

#: Which field a refusal is about, by its words (the rest are said at the top of the form).
FIELD_OF = {
    "register.name_missing": "name",
    "register.id_invalid": "id_number",
    "register.email_invalid": "email",
    "reset.username_missing": "username",
    "account.username_invalid": "username",
    "account.username_taken": "username",
    "password.too_short": "password",
    "password.mixed": "password",
    "password.mismatch": "password2",
    "codes.wrong": "code",
}


def _form(
    request: Request,
    settings: Settings,
    template: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    nonce = login_nonce(request)
    response = render(
        request,
        template,
        status_code=status_code,
        headers=headers,
        no_store=True,
        login_token=login_form_token(settings.secret_key, nonce),
        settings_code_minutes=settings.code_minutes,
        error=error,
        field_errors=fields or {},
        **context,
    )
    remember_login_nonce(request, response, nonce)
    return response


def _refused(request: Request, err: DomainError) -> tuple[int, str | None, dict[str, str], dict[str, str]]:
    """The status, the message for the top of the form, the per-field messages and the headers of a refusal."""
    t = translator(current_language(request))
    if isinstance(err, TooManyAttempts):
        minutes = max(1, math.ceil(err.retry_after / 60))
        return 429, t("codes.throttled", minutes=minutes), {}, {"Retry-After": str(err.retry_after)}
    message = say(current_language(request), err)
    field = FIELD_OF.get(err.words.key) if err.words else None
    status = err.status if isinstance(err, (InvalidInput, Conflict)) else 400
    if field:
        return status, t("form.fix_below"), {field: message}, {}
    return status, message, {}, {}


def _step(
    request: Request,
    settings: Settings,
    csrf_token: str,
    template: str,
    context: dict[str, Any],
    act: Callable[[], Response],
) -> Response:
    """One step of a two-step form: the CSRF check, then ``act`` (the service's call and the next page);
    a refusal is said on the same form, with ``context`` (what the visitor typed) filled in again."""
    if not check_login_csrf(request, csrf_token, settings.secret_key):
        t = translator(current_language(request))
        return _form(request, settings, template, status_code=403, error=t("login.csrf"), **context)
    try:
        return act()
    except DomainError as err:
        status, error, fields, headers = _refused(request, err)
        return _form(
            request, settings, template, status_code=status, error=error, fields=fields, headers=headers, **context
        )


def _same_passwords(password: str, password2: str) -> None:
    if password != password2:
        raise InvalidInput("the two passwords differ", words=Words("password.mismatch"))


# -- registration ---------------------------------------------------------------------------


@router.get("/login/register", response_class=HTMLResponse)
def register_page(request: Request, settings: SettingsDep) -> Response:
    return _form(request, settings, "register.html", step="ask", form={})


@router.post("/login/register", response_class=HTMLResponse)
def register_ask(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    name: Text = "",
    id_number: Text = "",
    email: Text = "",
    csrf_token: Text = "",
) -> Response:
    def ask() -> Response:
        ticket = registration.ask_code(
            db, settings, name=name, id_number=id_number, email=email, client=client_address(request)
        )
        return _form(request, settings, "register.html", step="code", ticket=ticket, form={"email": email.strip()})

    form = {"name": name, "id_number": id_number, "email": email}
    return _step(request, settings, csrf_token, "register.html", {"step": "ask", "form": form}, ask)


@router.post("/login/register/confirm", response_class=HTMLResponse)
def register_confirm(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    ticket: Text = "",
    code: Text = "",
    username: Text = "",
    password: Text = "",
    password2: Text = "",
    email: Text = "",
    csrf_token: Text = "",
) -> Response:
    def confirm() -> Response:
        _same_passwords(password, password2)
        registration.register(
            db, settings, ticket=ticket, code=code, username=username, password=password, client=client_address(request)
        )
        return RedirectResponse("/login?done=registered", status_code=303)

    context = {"step": "code", "ticket": ticket[:36], "form": {"username": username, "email": email}}
    return _step(request, settings, csrf_token, "register.html", context, confirm)


# -- forgotten password ---------------------------------------------------------------------


@router.get("/login/forgot", response_class=HTMLResponse)
def forgot_page(request: Request, settings: SettingsDep) -> Response:
    return _form(request, settings, "forgot.html", step="ask", form={})


@router.post("/login/forgot", response_class=HTMLResponse)
def forgot_ask(
    request: Request, db: DatabaseDep, settings: SettingsDep, username: Text = "", csrf_token: Text = ""
) -> Response:
    form = {"username": username}

    def ask() -> Response:
        ticket = recovery.ask_reset(db, settings, username=username, client=client_address(request))
        return _form(request, settings, "forgot.html", step="code", ticket=ticket, form=form)

    return _step(request, settings, csrf_token, "forgot.html", {"step": "ask", "form": form}, ask)


@router.post("/login/forgot/confirm", response_class=HTMLResponse)
def forgot_confirm(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    ticket: Text = "",
    code: Text = "",
    password: Text = "",
    password2: Text = "",
    csrf_token: Text = "",
) -> Response:
    def confirm() -> Response:
        _same_passwords(password, password2)
        recovery.reset_with_code(
            db, settings, ticket=ticket, code=code, password=password, client=client_address(request)
        )
        return RedirectResponse("/login?done=reset", status_code=303)

    context = {"step": "code", "ticket": ticket[:36], "form": {}}
    return _step(request, settings, csrf_token, "forgot.html", context, confirm)
