"""The visitor's display choices: language and large-text (适老化) mode, kept in cookies.

Both are plain links that come back to the page the visitor was on, so they work without
JavaScript; ``next`` must be a path on this site.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from onecity.web.i18n import LANG_COOKIE
from onecity.web.safety import is_https, safe_next
from onecity.web.templating import A11Y_COOKIE, LARGE_TEXT

router = APIRouter(include_in_schema=False)

ONE_YEAR = 365 * 24 * 3600


def _back(request: Request, next_path: str | None, cookie: str, value: str) -> RedirectResponse:
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        cookie, value, max_age=ONE_YEAR, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )
    return response


@router.get("/lang/{lang}")
def switch_language(request: Request, lang: Literal["zh", "en"], next: str | None = None) -> RedirectResponse:
    return _back(request, next, LANG_COOKIE, lang)


@router.get("/a11y/{mode}")
def switch_text_size(request: Request, mode: Literal["large", "standard"], next: str | None = None) -> RedirectResponse:
    return _back(request, next, A11Y_COOKIE, LARGE_TEXT if mode == "large" else "standard")
