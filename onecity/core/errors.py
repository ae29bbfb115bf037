"""Domain errors. Service functions raise these; the HTTP layer maps each to a status.

Messages are written for the person who caused them: say what was wrong and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Key(str):
    """A value of :class:`Words` that is itself a catalogue key (a state's name): said in the reader's language too."""

    __slots__ = ()


@dataclass(frozen=True)
class Words:
    """An error's message as catalogue words: the pages say it in the reader's language.

    ``values`` fill the message's ``{placeholders}``; a :class:`Key` value is translated
    first, and a tuple of them is translated and joined ("A or B").
    """

    key: str
    values: dict[str, str | Key | tuple[Key, ...]] = field(default_factory=dict)


class DomainError(Exception):
    """Base of every error a caller can act on.

    ``detail`` is what the API answers (English, for whoever reads the problem); ``words``,
    when given, is the same message in catalogue words, which the pages show in the reader's
    language instead.
    """

    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, words: Words | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.words = words
        self.extra = extra


class InvalidInput(DomainError):
    status = 422
    code = "invalid-input"
    title = "Invalid input"


class AuthenticationRequired(DomainError):
    status = 401
    code = "authentication-required"
    title = "Authentication required"


class PermissionDenied(DomainError):
    status = 403
    code = "permission-denied"
    title = "Permission denied"


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(DomainError):
    """The record changed since the caller read it (``If-Match`` names an older version)."""

    status = 412
    code = "precondition-failed"
    title = "Precondition failed"


class PreconditionRequired(DomainError):
    """The request must say which version of the record it acts on (``If-Match``)."""

    status = 428
    code = "precondition-required"
    title = "Precondition required"


class TooManyAttempts(DomainError):
    status = 429
    code = "too-many-attempts"
    title = "Too many attempts"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class Unavailable(DomainError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"
