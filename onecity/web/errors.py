"""Errors on the pages are pages: HTML 403/404/…, and "sign in first" is a redirect.

The API's handlers (``onecity.api.problems``) answer every error with problem+json and do
the bookkeeping (auditing a refusal, logging an unexpected error with a reference). This
module wraps each of them: the API handler always runs first, then a visitor on a page gets
the same status as an HTML page in their language, while machine paths (``/api``, the
standards' endpoints, the GeoJSON) keep their problem+json answer untouched.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from onecity.core.errors import AuthenticationRequired, DomainError
from onecity.web import i18n
from onecity.web.deps import PASSWORD_PAGE, PasswordChangeRequired
from onecity.web.safety import safe_next
from onecity.web.templating import current_language, here, render

log = logging.getLogger(__name__)

#: Paths answered for programs, not people: their errors stay problem+json.
MACHINE_PREFIXES = ("/api", "/open311", "/sta", "/geo", "/openapi.json", "/.well-known")

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def wants_page(request: Request) -> bool:
    """Whether the error should be an HTML page (a person's browser on a page path)."""
    path = request.url.path
    if any(path == p or path.startswith(p + "/") for p in MACHINE_PREFIXES):
        return False
    accept = request.headers.get("accept", "")
    return not ("json" in accept and "text/html" not in accept)


def login_redirect(request: Request) -> RedirectResponse:
    target = here(request) if request.method == "GET" else request.url.path
    return RedirectResponse(f"/login?next={quote(safe_next(target), safe='/')}", status_code=303)


def error_page(
    request: Request,
    status: int,
    *,
    detail: str | None = None,
    reference: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    t = i18n.translator(current_language(request))
    body_key = f"error.{status}.body"
    body = t(body_key, reference=reference or "-") if body_key in i18n.messages("en") else t("error.generic.body")
    return render(
        request,
        "error.html",
        status_code=status,
        headers=headers,
        status=status,
        title=t(i18n.status_key(status)),
        body=body,
        detail=detail,
        no_store=True,
    )


def _carry(response: Response) -> dict[str, str]:
    """Headers of the API answer worth keeping on the page (not the Bearer challenge)."""
    keep = ("retry-after", "allow")
    return {k: v for k, v in response.headers.items() if k.lower() in keep}


def _wrap(original: Handler, page: Callable[[Request, Any, Response], Response]) -> Handler:
    async def handler(request: Request, exc: Any) -> Response:
        answer = original(request, exc)
        response = await answer if inspect.isawaitable(answer) else answer
        if not wants_page(request):
            return response
        try:
            return page(request, exc, response)
        except Exception:  # an error page that cannot render must not hide the original answer
            log.exception("could not render the error page for %s %s", request.method, request.url.path)
            return response

    return handler


def _domain_page(request: Request, err: DomainError, api_response: Response) -> Response:
    if isinstance(err, AuthenticationRequired):
        return login_redirect(request)
    detail = i18n.say(current_language(request), err)
    return error_page(request, err.status, detail=detail, headers=_carry(api_response))


def _http_page(request: Request, err: StarletteHTTPException, api_response: Response) -> Response:
    detail = err.detail if isinstance(err.detail, str) and err.status_code != 404 else None
    return error_page(request, err.status_code, detail=detail, headers=_carry(api_response))


def _validation_page(request: Request, err: RequestValidationError, api_response: Response) -> Response:
    return error_page(request, 422)


def _unexpected_page(request: Request, err: Exception, api_response: Response) -> Response:
    try:
        reference = json.loads(bytes(api_response.body)).get("reference")
    except (ValueError, AttributeError):
        reference = None
    return error_page(request, 500, reference=reference)


def _password_page(request: Request, exc: Exception) -> Response:
    """A user whose password an administrator reset goes to the form to change it first."""
    target = exc.next_path if isinstance(exc, PasswordChangeRequired) else "/"
    return RedirectResponse(f"{PASSWORD_PAGE}?next={quote(target, safe='/')}", status_code=303)


def install(app: FastAPI) -> None:
    """Wrap the API's handlers (installed before the pages) so pages get HTML errors."""
    app.add_exception_handler(PasswordChangeRequired, _password_page)
    for exc_class, page in (
        (DomainError, _domain_page),
        (StarletteHTTPException, _http_page),
        (RequestValidationError, _validation_page),
        (Exception, _unexpected_page),
    ):
        original = app.exception_handlers.get(exc_class)
        if original is None:
            raise RuntimeError(f"install the API's error handlers before the pages' ({exc_class.__name__})")
        app.add_exception_handler(exc_class, _wrap(original, page))
