"""The page form guard: run what a form asks for, and come back to the page with the refusal in words.

A page's POST runs one service function inside a savepoint; when the service refuses
(invalid input, a conflict, a missing record) nothing of it is kept and the page is drawn
again with the message and the refusal's status. Being signed out or not allowed is not
the page's to answer: those go on to the platform's error pages.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from onecity.core.errors import AuthenticationRequired, DomainError, PermissionDenied
from onecity.web.i18n import say, status_key, translator
from onecity.web.templating import current_language

#: What the page is drawn with after a refusal: (title in the reader's language, the service's message).
Refusal = tuple[str, str]


def refusal(request: Request, err: DomainError) -> Refusal:
    """The refusal's title (its status, in words) and the service's message, in words where it gave them."""
    lang = current_language(request)
    return translator(lang)(status_key(err.status)), say(lang, err)


def guarded(
    request: Request, session: Session, run: Callable[[], Response], again: Callable[[Refusal, int], Response]
) -> Response:
    """Run one action in a savepoint; a refused action comes back to the page with its message."""
    try:
        with session.begin_nested():
            return run()
    except (AuthenticationRequired, PermissionDenied):
        raise
    except DomainError as err:
        return again(refusal(request, err), err.status)
