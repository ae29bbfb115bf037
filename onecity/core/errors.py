"""Domain errors. Service functions raise these; the HTTP layer maps each to a status.

Messages are written for the person who caused them: say what was wrong and what to do.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a caller can act on."""

    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
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
