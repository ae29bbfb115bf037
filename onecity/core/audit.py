"""The append-only, hash-chained audit log.

Each entry is written in the same transaction as the change it records, and carries the
SHA-256 of its own content together with the previous entry's hash. Editing, deleting or
reordering any row breaks the chain; :func:`verify` (``onecity audit verify``) names the
first entry where it breaks. A one-row *head* table holds the newest sequence number and
hash, so cutting entries off the end is caught too, and updating it serialises writers
(a row lock in PostgreSQL; SQLite has one writer anyway) so the chain never forks.

Reading personal data is one line::

    audit.personal_read(session, principal, "hub.person.read", person.id, purpose)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import JSON, BigInteger, Integer, String, Text, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from onecity.core import clock
from onecity.core.db import Base
from onecity.core.errors import InvalidInput
from onecity.core.identity.principal import Principal

GENESIS = "0" * 64


class Outcome(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    actor_name: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(120), index=True)
    #: Whose personal data this entry concerns (for "who read my data").
    subject: Mapped[str | None] = mapped_column(String(120), index=True)
    purpose: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[Outcome] = mapped_column(String(16))
    division_code: Mapped[str | None] = mapped_column(String(12), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(Text)


def _digest(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


HASHED = (
    "seq",
    "at",
    "actor",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "subject",
    "purpose",
    "outcome",
    "division_code",
    "detail",
    "prev_hash",
)


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    """What an entry's hash covers: everything but the hash itself, in a stable form."""
    out = {k: row[k] for k in HASHED}
    out["at"] = row["at"].astimezone(UTC).isoformat(timespec="microseconds")
    out["outcome"] = str(row["outcome"])
    return out


def _content(e: AuditEntry) -> dict[str, Any]:
    return _fields({k: getattr(e, k) for k in HASHED})


def record(
    session: Session,
    principal: Principal,
    action: str,
    *,
    object_type: str,
    object_id: str | None = None,
    subject: str | None = None,
    purpose: str | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    division_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry, inside the caller's transaction."""
    record_many(
        session,
        principal,
        action,
        [BatchEntry(object_type, object_id, subject, division_code, detail)],
        purpose=purpose,
        outcome=outcome,
    )


@dataclass(frozen=True)
class BatchEntry:
    """One entry of :func:`record_many`: what differs between the entries of one batch."""

    object_type: str
    object_id: str | None = None
    subject: str | None = None
    division_code: str | None = None
    detail: dict[str, Any] | None = None


def record_many(
    session: Session,
    principal: Principal,
    action: str,
    entries: Sequence[BatchEntry],
    *,
    purpose: str | None = None,
    outcome: Outcome = Outcome.SUCCESS,
) -> int:
    """Append entries of one action, inside the caller's transaction.

    A bulk read of 1,000 persons needs one entry per person (so each finds it in "who read
    my data"), but not 1,000 round trips: the head moves once by ``n`` — its ``RETURNING``
    also gives the previous entry's hash, so nothing is read back — the chain is hashed in
    memory and the rows go in one multi-row insert. Returns the number of entries written.
    """
    if action.count(".") < 2:
        raise ValueError(f"audit action {action!r} must be namespaced, e.g. 'hub.person.read'")
    n = len(entries)
    if n == 0:
        return 0
    moved = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + n)
        .returning(AuditHead.seq, AuditHead.hash)
    ).one_or_none()
    if moved is None:  # first entry ever: create the head (its primary key makes a race fail loudly)
        session.execute(insert(AuditHead).values(id=1, seq=n, hash=GENESIS))
        last, prev_hash = n, GENESIS
    else:
        last, prev_hash = moved
    first = last - n + 1
    at = clock.now()
    rows: list[dict[str, Any]] = []
    for i, spec in enumerate(entries):
        row: dict[str, Any] = {
            "seq": first + i,
            "at": at,
            "actor": principal.ref,
            "actor_name": principal.name,
            "action": action,
            "object_type": spec.object_type,
            "object_id": spec.object_id,
            "subject": spec.subject,
            "purpose": purpose,
            "outcome": outcome,
            "division_code": spec.division_code,
            "detail": spec.detail or {},
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = _digest(_fields(row))
        rows.append(row)
    session.execute(insert(AuditEntry), rows)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev_hash))
    return n


def personal_read(
    session: Session,
    principal: Principal,
    action: str,
    subject: str,
    purpose: str | None,
    *,
    object_type: str = "person",
    object_id: str | None = None,
    division_code: str | None = None,
    fields: list[str] | None = None,
) -> None:
    """Record a read of one person's data. A read without a stated purpose is refused."""
    if not purpose or not purpose.strip():
        raise InvalidInput(
            "reading personal data needs a purpose: send it in the X-OneCity-Purpose header "
            "(e.g. 'case 2026-000123 review')"
        )
    record(
        session,
        principal,
        action,
        object_type=object_type,
        object_id=object_id or subject,
        subject=subject,
        purpose=purpose.strip()[:200],
        division_code=division_code,
        detail={"fields": fields} if fields else None,
    )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None
    #: How many signed checkpoints the chain was compared with (all agreed when ``ok``).
    checkpoints: int = 0


class SignedHead(Protocol):
    """A checkpoint as :func:`verify` compares it (see :mod:`onecity.core.audit_checkpoints`)."""

    @property
    def seq(self) -> int: ...

    @property
    def head(self) -> str: ...

    def name(self) -> str: ...


#: ``progress(entries verified, entries in the chain)``, called after each batch.
Progress = Callable[[int, int], None]


def _iter_entries(session: Session, upto: int | None, batch: int = 5000) -> Iterator[list[Any]]:
    """The entries in order, as plain rows (no ORM objects: a city's log has millions)."""
    last = 0
    columns = [getattr(AuditEntry, k) for k in HASHED] + [AuditEntry.hash]
    while True:
        stmt = select(*columns).where(AuditEntry.seq > last)
        if upto is not None:
            stmt = stmt.where(AuditEntry.seq <= upto)
        rows = session.execute(stmt.order_by(AuditEntry.seq).limit(batch)).all()
        if not rows:
            return
        yield list(rows)
        last = rows[-1].seq


def verify(
    session: Session, *, checkpoints: Sequence[SignedHead] = (), progress: Progress | None = None
) -> VerifyResult:
    """Walk the whole chain; report the first entry that was edited, removed or moved.

    With ``checkpoints`` (signed heads kept outside the database), each named entry's hash must
    also be the one the checkpoint signed: this is what catches a chain rewritten with every
    hash recomputed, which the chain alone cannot.
    """
    signed = {c.seq: c for c in checkpoints}
    # The head first, and the walk up to it: entries written meanwhile (a live server) are not
    # this walk's business, and are not mistaken for a tampered end.
    head = session.get(AuditHead, 1)
    total = head.seq if head is not None else 0
    expected_seq, prev_hash, count = 1, GENESIS, 0
    for rows in _iter_entries(session, total if head is not None else None):
        for e in rows:
            count += 1
            if e.seq != expected_seq:
                return VerifyResult(
                    False, count, expected_seq, f"entry {expected_seq} is missing (next entry present is {e.seq})"
                )
            if e.prev_hash != prev_hash:
                return VerifyResult(
                    False, count, e.seq, f"entry {e.seq} does not follow entry {e.seq - 1} (previous hash differs)"
                )
            if _digest(_fields(e._mapping)) != e.hash:
                return VerifyResult(False, count, e.seq, f"entry {e.seq} was altered (its content hash differs)")
            if (cp := signed.get(e.seq)) is not None and cp.head != e.hash:
                return VerifyResult(
                    False,
                    count,
                    e.seq,
                    f"{cp.name()} disagrees with the chain: it signed hash {cp.head[:16]}… for entry {e.seq}, "
                    f"the database now holds {e.hash[:16]}… (the log was rewritten at or before entry {e.seq})",
                )
            prev_hash, expected_seq = e.hash, e.seq + 1
        if progress is not None:
            progress(count, max(total, count))
    last_seq = expected_seq - 1
    if head is None:
        if count:
            return VerifyResult(False, count, 1, "the audit head row is missing")
    elif head.seq != last_seq or head.hash != prev_hash:
        return VerifyResult(
            False, count, last_seq + 1, f"entries after {last_seq} are missing (the head records entry {head.seq})"
        )
    else:
        beyond_head = session.scalar(select(func.max(AuditEntry.seq)).where(AuditEntry.seq > total))
        if beyond_head is not None:  # new entries, or rows slipped in past the head? ask the head again
            now_at = session.scalar(
                select(AuditHead.seq).where(AuditHead.id == 1).execution_options(populate_existing=True)
            )
            if now_at is None or now_at < beyond_head:
                return VerifyResult(
                    False, count, total + 1, f"entry {beyond_head} lies beyond the head (which records entry {total})"
                )
    beyond = [c for c in checkpoints if c.seq > last_seq]
    if beyond:
        first = min(beyond, key=lambda c: c.seq)
        return VerifyResult(
            False,
            count,
            last_seq + 1,
            f"{first.name()} records entries up to {first.seq}, but the chain ends at entry {last_seq}: "
            "entries were cut off",
        )
    return VerifyResult(True, count, checkpoints=len(signed))
