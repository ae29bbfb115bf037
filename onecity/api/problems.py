"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error a client can get is one of these, with a ``detail`` a person can act on. An
unexpected exception is logged with its trace on the server and answered with a plain 500
problem that names the request id, never with the trace. A refused action (403) is
audited, in its own transaction, since the request's own transaction was rolled back.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from onecity.core import audit
from onecity.core.audit import Outcome
from onecity.core.errors import AuthenticationRequired, DomainError, PermissionDenied, Words

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"

#: The problem details object (RFC 9457) every error is, as the OpenAPI document describes it.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "additionalProperties": True,
}

_ANSWERS = {
    400: "The request cannot be read (malformed body or parameters)",
    401: "Sign in first: no, an expired or an invalid token or API key",
    403: "Refused: the caller's role, scope or area does not allow this",
    404: "No such record (or not one the caller may know of)",
    409: "Conflicts with the record's current state",
    413: "The body is larger than the server accepts",
    422: "Invalid input: the detail names each field and what is wrong",
    429: "Too many attempts: wait as long as Retry-After says",
    500: "Something went wrong on the server; the detail quotes a reference",
}

#: GeoReport v2 answers errors in its own shape (a list of code and description), as JSON or XML.
OPEN311_ERROR_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}
OPEN311_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": text,
        "content": {"application/json": {"schema": OPEN311_ERROR_SCHEMA}, "text/xml": {"schema": {"type": "string"}}},
    }
    for code, text in _ANSWERS.items()
    if code not in (401, 413, 500)
}

#: The error answers every API route can give, as ``responses=`` for the routers: each is a
#: problem+json body, so that clients and the schema tests know them.
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM: {"schema": PROBLEM_SCHEMA}}} for code, text in _ANSWERS.items()
}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://onecity.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _plain(value: Any) -> Any:
    """An error's extra for JSON: catalogue words (a field's problem) said in English, as ``detail`` is."""
    if isinstance(value, Words):
        from onecity.web.i18n import said

        return said("en", value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[-1] if loc else "request")


def _audit_denied(request: Request, err: PermissionDenied) -> None:
    principal = getattr(request.state, "principal", None)
    db = getattr(request.app.state, "db", None)
    if principal is None or db is None or not principal.is_authenticated:
        return
    try:
        with db.transaction() as session:
            audit.record(
                session,
                principal,
                "core.access.denied",
                object_type="request",
                object_id=f"{request.method} {request.url.path}"[:120],
                outcome=Outcome.DENIED,
                division_code=principal.division_code,
                detail={"reason": err.detail[:300]},
            )
    except Exception:  # auditing a refusal must not turn the 403 into a 500
        log.exception("could not audit a denied request")


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, err: DomainError) -> JSONResponse:
        headers: dict[str, str] = {}
        if isinstance(err, AuthenticationRequired):
            headers["WWW-Authenticate"] = 'Bearer realm="onecity"'
        if "retry_after" in err.extra:
            headers["Retry-After"] = str(err.extra["retry_after"])
        if isinstance(err, PermissionDenied):
            import anyio

            await anyio.to_thread.run_sync(_audit_denied, request, err)
        extra = {k: _plain(v) for k, v in err.extra.items() if k != "retry_after"}
        return problem(err.status, err.title, err.detail, code=err.code, request=request, headers=headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in err.errors()]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(
            422,
            "Invalid input",
            f"the request is not valid: {summary}",
            code="invalid-input",
            request=request,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> JSONResponse:
        detail = err.detail if isinstance(err.detail, str) else "request failed"
        if err.status_code == 404 and detail == "Not Found":
            detail = f"nothing here: {request.url.path}; the API is described at /openapi.json"
        if err.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem(
            err.status_code,
            detail.capitalize() if len(detail) < 40 else "Request failed",
            detail,
            code=f"http-{err.status_code}",
            request=request,
            headers=getattr(err, "headers", None),
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, err: DataError) -> JSONResponse:
        # the database refused a value that validation let through; nothing was written
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, err.orig)
        return problem(
            422,
            "Invalid input",
            "a value in the request cannot be stored (wrong format, out of range "
            "or containing forbidden characters); check the fields and try again",
            code="invalid-input",
            request=request,
        )

    @app.exception_handler(RecursionError)
    async def _too_deep(request: Request, err: RecursionError) -> JSONResponse:
        # a last guard: JSON bodies are depth-checked before parsing (api/limits.py), but a
        # document nested inside another (a form field, a token's payload) could still recurse
        from onecity.api.limits import too_deep_detail

        return problem(400, "Nested too deeply", too_deep_detail(), code="too-deep", request=request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", ref, request.method, request.url.path)
        return problem(
            500,
            "Internal error",
            f"something went wrong on our side; nothing was changed. Quote reference {ref} when reporting it.",
            code="internal-error",
            request=request,
            reference=ref,
        )
