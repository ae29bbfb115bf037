"""The ``Idempotency-Key`` header on the API's create routes (see :mod:`onecity.core.idempotency`).

A route that creates something takes ``idempotency_key: IdempotencyKeyHeader = None`` and wraps
its work::

    return idempotent(request, session, principal, idempotency_key, body, lambda: create(...))

Without the header nothing changes. With it, the first answer is stored in the request's own
transaction and a retry gets it back with ``Idempotent-Replayed: true``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from onecity.core import idempotency
from onecity.core.identity.principal import Principal

KEY_HELP = (
    "A unique string (a UUID) for this create. Send the same key when retrying a request whose answer "
    "was lost: the retry gets the first answer (header `Idempotent-Replayed: true`) and nothing is "
    "created twice. The same key with a different body is refused with 422. Keys are kept 24 hours."
)

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(alias=idempotency.HEADER, max_length=idempotency.MAX_KEY_LENGTH, description=KEY_HELP),
]

#: What a create route documents beside its success: the reused-key refusal.
RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid input, or an Idempotency-Key already used for a different request"},
}


def route_name(request: Request) -> str:
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


def replay(stored: idempotency.Stored) -> Response:
    return Response(
        stored.body,
        status_code=stored.status,
        media_type=stored.content_type,
        headers={idempotency.REPLAYED_HEADER: "true"},
    )


T = TypeVar("T")


def idempotent(
    request: Request,
    session: Session,
    principal: Principal,
    key: str | None,
    body: BaseModel | dict[str, Any] | None,
    create: Callable[[], T],
    *,
    status_code: int = 201,
) -> T | Response:
    """Run ``create`` once per (principal, key); answer a retry with the first answer."""
    if key is None:
        return create()
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    fingerprint = idempotency.fingerprint(request.method, request.url.path, payload)
    stored = idempotency.claim(session, principal.ref, key, route_name(request), fingerprint)
    if stored is not None:
        return replay(stored)
    response = JSONResponse(jsonable_encoder(create()), status_code=status_code)
    idempotency.store(
        session, principal.ref, key, status_code, "application/json", bytes(response.body).decode("utf-8")
    )
    return response
