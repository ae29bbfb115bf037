"""``Idempotency-Key``: a client that lost the answer to a create and sends it again gets the first answer.

A resident's app posts a report, the network drops the response, the app retries: without a
key that is two reports (two cases, two ratings). With ``Idempotency-Key: <unique string>``
(the IETF httpapi draft's header, as Stripe and others use it) the first request's status and
body are stored under (principal, key) **in the same transaction as the thing it created**, and
a retry is answered with them, marked ``Idempotent-Replayed: true``, without creating anything.

* The same key with a different request (another route or another body) is refused with 422:
  a key names one request, and reusing it for another is a client bug worth seeing.
* Two retries at once: the key's row is inserted *before* the create, under a unique primary
  key, so the second waits for the first's transaction (PostgreSQL's unique index; SQLite has
  one writer) and then replays its answer; it never creates a second thing.
* A request that failed stored nothing (its transaction rolled back), so a retry runs again.
* Keys are remembered ``ONECITY_IDEMPOTENCY_KEEP_HOURS`` (24 h); housekeeping forgets older ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from onecity.core import clock
from onecity.core.db import Base
from onecity.core.errors import Conflict, InvalidInput

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotencyRecord(Base):
    """A create's first answer, under the caller and the key they sent."""

    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    route: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the request (method, path, canonical body): the same key must come with the same request.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: None while the request that claimed the key is still running (only that transaction sees it so).
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)


class KeyReused(InvalidInput):
    """The key was sent before with a different request."""


@dataclass(frozen=True)
class Stored:
    """An answer to replay."""

    status: int
    content_type: str
    body: str


def fingerprint(method: str, path: str, body: Any) -> str:
    """What makes two requests "the same": method, path and the body's canonical JSON."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            f"the {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters "
            "(a UUID is a good choice); send a new one for each new request"
        )
    return key


def _replay(row: IdempotencyRecord, route: str, print_: str) -> Stored:
    if row.route != route or row.fingerprint != print_:
        raise KeyReused(
            f"this {HEADER} was already used for a different request"
            + (f" ({row.route})" if row.route != route else " (another body)")
            + "; send a new key for a new request, or resend the first request unchanged"
        )
    if row.status is None or row.body is None:
        raise Conflict(f"the request with this {HEADER} is still being processed; retry in a moment")
    return Stored(row.status, row.content_type or "application/json", row.body)


def claim(session: Session, principal: str, key: str, route: str, print_: str) -> Stored | None:
    """The stored answer to replay, or None after reserving the key in this transaction.

    Call it before creating anything, then :func:`store` the answer in the same transaction.
    """
    key = check_key(key)
    row = session.get(IdempotencyRecord, (principal, key))
    if row is not None:
        return _replay(row, route, print_)
    try:
        with session.begin_nested():
            session.add(
                IdempotencyRecord(principal=principal, key=key, route=route, fingerprint=print_, created_at=clock.now())
            )
    except IntegrityError:
        # another request with this key committed while we waited on the unique key: answer as it did
        row = session.scalars(
            select(IdempotencyRecord)
            .where(IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)
            .execution_options(populate_existing=True)
        ).one()
        return _replay(row, route, print_)
    return None


def store(session: Session, principal: str, key: str, status: int, content_type: str, body: str) -> None:
    """Keep the answer of the request that claimed ``key`` (same transaction as its create)."""
    row = session.get(IdempotencyRecord, (principal, check_key(key)))
    if row is None:
        raise RuntimeError("store() without claim()")
    row.status, row.content_type, row.body = status, content_type, body
    session.flush()


def forget_older_than(session: Session, hours: int) -> int:
    """Housekeeping: drop keys older than ``hours``. Returns how many."""
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < clock.now() - timedelta(hours=hours))
    )
    return int(getattr(result, "rowcount", 0) or 0)
