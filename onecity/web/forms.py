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

from onecity.core.errors import AuthenticationRequired, DomainError, PermissionDenied, Words
from onecity.web.i18n import said, say, status_key, translator
from onecity.web.templating import current_language


class Refusal(tuple[str, str]):
    """What the page is drawn with after a refusal, in the reader's language: (its status in words, the
    service's message), and ``fields``, a message per form field (its name → words) said beside the field.

    A pair, so that every page drawing ``error[0]`` and ``error[1]`` draws it unchanged.
    """

    fields: dict[str, str]

    def __new__(cls, title: str, message: str, fields: dict[str, str] | None = None) -> Refusal:
        made = super().__new__(cls, (title, message))
        made.fields = fields or {}
        return made


def refusal(request: Request, err: DomainError) -> Refusal:
    """The refusal's title (its status, in words), the service's message, and each field's message, in words
    where the service gave them (``fields``: a field's name → :class:`Words`)."""
    lang = current_language(request)
    problems = err.extra.get("fields")
    fields = (
        {name: said(lang, w) for name, w in problems.items() if isinstance(w, Words)}
        if isinstance(problems, dict)
        else {}
    )
    return Refusal(translator(lang)(status_key(err.status)), say(lang, err), fields)


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
