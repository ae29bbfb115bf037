"""The append-only, hash-chained audit log, sealed in batches.

Each entry is written in the same transaction as the change it records (an ``INSERT`` and
nothing else: outbox semantics, committed or rolled back with the change, never lost), and is
*sealed* into the chain moments later by the sealer (:func:`seal`, a periodic task of the
platform, run by one process of a deployment): in one transaction it takes the committed
entries not yet sealed, gives each the next position in the chain (``pos``), the previous
entry's hash and the SHA-256 of its own content, and moves the one-row *head* (newest position
and hash). Editing, deleting or reordering a sealed entry breaks the chain; :func:`verify`
(``onecity audit verify``) names the first entry where it breaks, and reports how many entries
wait to be sealed. The database refuses deletes, and updates other than sealing an unsealed
entry (triggers), so an entry cannot be edited before it is sealed either.

Before group commit every writer moved the head itself, so its row lock serialised all the
city's writers (about 185 entries a second on PostgreSQL); now writers never touch it and the
sealer chains thousands of entries per transaction. ``seq`` is the entry's number, given at
insert (in commit order only roughly: a PostgreSQL identity); ``pos`` its place in the chain.
Entries sealed before group commit have ``pos == seq``.

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

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    FromClause,
    Identity,
    Index,
    Insert,
    Integer,
    String,
    Text,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from onecity.core import clock
from onecity.core.db import Base, Database, DriverStatement, table_of
from onecity.core.errors import InvalidInput
from onecity.core.identity.principal import Principal

GENESIS = "0" * 64


class Outcome(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"


class AuditEntry(Base):
    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True)
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
    #: The entry's place in the chain, given by the sealer (None until sealed).
    pos: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_log_pos", "pos", unique=True),
        # what the sealer looks for: small, since entries are sealed within a second or so
        Index(
            "ix_audit_log_unsealed",
            "seq",
            postgresql_where=pos.is_(None),
            sqlite_where=pos.is_(None),
        ),
    )


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
    "pos",
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


def _fields(row: Any) -> dict[str, Any]:
    """What an entry's hash covers: everything but the hash itself, in a stable form.

    The chain position is hashed as ``seq`` (entries sealed before group commit, where the two
    were one number, keep their hashes); the entry's own number is hashed as ``id`` whenever it
    differs from its position, so renumbering a sealed entry breaks its hash too.
    """
    out = {k: row[k] for k in HASHED if k not in ("seq", "pos")}
    out["seq"] = row["pos"]
    if row["seq"] != row["pos"]:
        out["id"] = row["seq"]
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
    """Append entries of one action, inside the caller's transaction: one multi-row insert.

    A bulk read of 1,000 persons needs one entry per person (so each finds it in "who read
    my data"), but not 1,000 round trips. The entries are sealed into the chain by :func:`seal`
    after the transaction commits; nothing here waits on another writer. Returns the number
    of entries written.
    """
    if action.count(".") < 2:
        raise ValueError(f"audit action {action!r} must be namespaced, e.g. 'hub.person.read'")
    if not entries:
        return 0
    at = clock.now()
    rows = [entry_row(principal, action, spec, purpose=purpose, outcome=outcome, at=at) for spec in entries]
    # An entry is written after what it records, and a caller reading back in the same transaction
    # sees its deletes and inserts done: flush the ORM's pending changes first (nothing pending
    # costs nothing). Neither statement below would flush them.
    if session.autoflush:
        session.flush()
    if session.get_bind().dialect.name == "postgresql":
        # one prepared statement on the driver, the rows as one JSON parameter, however many:
        # SQLAlchemy's execution layer cost ~4x the driver's own work per append (the figures
        # in bench/README.md, "Audit appends at the server's ceiling")
        if at.tzinfo is None:  # what UTCDateTime refuses on the other path
            raise ValueError("naive datetime given to the database; use onecity.core.clock.now()")
        _PG_APPEND.run(session, {"rows": orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")})
    else:
        # one entry as one statement (a one-row list would be an executemany for nothing)
        session.connection().execute(_APPEND, rows[0] if len(rows) == 1 else rows)
    return len(rows)


#: One statement for every append on SQLite (compiled once and kept in SQLAlchemy's cache).
_APPEND = insert(table_of(AuditEntry))
#: The columns an append gives: all but the entry's number (an identity) and what the sealer sets.
_APPENDED = ", ".join(c.name for c in table_of(AuditEntry).c if c.name not in ("seq", "pos", "prev_hash", "hash"))
#: The same append on PostgreSQL, prepared on each connection at its first use.
_PG_APPEND = DriverStatement(
    f"INSERT INTO audit_log ({_APPENDED}) SELECT {_APPENDED} "
    "FROM json_populate_recordset(NULL::audit_log, %(rows)s::json)"
)


def entry_row(
    principal: Principal,
    action: str,
    spec: BatchEntry,
    *,
    purpose: str | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The row one entry is (the ``audit_log`` columns an append gives), for :func:`record_many` and
    for a statement that appends the entry together with the change it records (an ``INSERT`` in a
    ``WITH``: :meth:`onecity.core.transition.Change.as_rows`)."""
    if action.count(".") < 2:
        raise ValueError(f"audit action {action!r} must be namespaced, e.g. 'hub.person.read'")
    return {
        "at": at or clock.now(),
        "actor": principal.ref,
        "actor_name": principal.name,
        "action": action,
        "object_type": spec.object_type,
        "object_id": spec.object_id,
        "subject": spec.subject,
        "purpose": purpose,
        "outcome": str(outcome),
        "division_code": spec.division_code,
        "detail": spec.detail or {},
    }


def statement_at_a_time(session: Session) -> bool:
    """Let ``session`` run each statement in a transaction of its own, on PostgreSQL, if it has not begun one.

    For a request that reads and then appends its audit entry, and nothing else: the read needs
    no ``BEGIN`` and the entry's ``INSERT`` commits as it runs (synchronous commit: durable when
    the statement returns, before any answer is sent), so the request costs two round trips to
    the database instead of four (``BEGIN``, read, insert, ``COMMIT``). The audited read is
    never lost: it is durably written before the answer, or the answer is an error. Nothing
    else may be written through ``session`` then (each write would commit on its own).

    Returns whether it switched. It does not when the session already holds a transaction (the
    caller was read from the database in it) nor on SQLite (one writer; ``BEGIN IMMEDIATE`` is
    issued by the engine itself): the request then runs in one transaction, as any other.
    """
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return False
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[_AT_A_TIME] = True
    return True


_AT_A_TIME = "statement_at_a_time"


def at_a_time(session: Session) -> bool:
    """Whether :func:`statement_at_a_time` switched ``session``: each statement commits as it returns."""
    return bool(session.info.get(_AT_A_TIME))


class NeedsTransaction(Exception):
    """A change run statement at a time (:func:`statement_at_a_time`) that cannot be one statement
    after all (a report that joins an existing case locks it and writes several rows): it wrote
    nothing; run it again in a transaction."""


#: The most entries one sealing transaction chains (a backlog is sealed in several).
SEAL_BATCH = 5000
_SEALED = (
    update(table_of(AuditEntry))
    .where(table_of(AuditEntry).c.seq == bindparam("b_seq"), table_of(AuditEntry).c.pos.is_(None))
    .values(pos=bindparam("b_pos"), prev_hash=bindparam("b_prev"), hash=bindparam("b_hash"))
)


#: :data:`_SEALED` on PostgreSQL, for a whole batch given as one JSON parameter.
_PG_SEALED = DriverStatement(
    "UPDATE audit_log AS e SET pos = b.b_pos, prev_hash = b.b_prev, hash = b.b_hash "
    "FROM json_to_recordset(%(rows)s::json) AS b(b_seq bigint, b_pos bigint, b_prev text, b_hash text) "
    "WHERE e.seq = b.b_seq AND e.pos IS NULL"
)


def seal_batch(session: Session, limit: int = SEAL_BATCH) -> int:
    """Seal up to ``limit`` committed, unsealed entries into the chain, in ``session``'s transaction.

    The head's row lock (PostgreSQL; SQLite has one writer) makes two sealers take turns; the
    second then reads the unsealed entries afresh and finds the first one's gone. If the
    transaction does not commit (a sealer killed mid-batch), nothing was sealed and the next
    round seals the same entries: none is lost, none chained twice. Returns how many it sealed.
    """
    head = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    moved = session.execute(head).one_or_none()
    if moved is None:  # the first round ever: make the head (two first sealers: one makes it, both lock it)
        dialect = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(dialect(AuditHead).values(id=1, seq=0, hash=GENESIS).on_conflict_do_nothing())
        moved = session.execute(head).one()
    last, prev_hash = moved
    columns = [getattr(AuditEntry, k) for k in HASHED if k not in ("pos", "prev_hash")]
    pending = session.execute(
        select(*columns).where(AuditEntry.pos.is_(None)).order_by(AuditEntry.seq).limit(limit)
    ).all()
    if not pending:
        return 0
    params: list[dict[str, Any]] = []
    for row in pending:
        last += 1
        fields = dict(row._mapping, pos=last, prev_hash=prev_hash)
        digest = _digest(_fields(fields))
        params.append({"b_seq": row.seq, "b_pos": last, "b_prev": prev_hash, "b_hash": digest})
        prev_hash = digest
    if session.get_bind().dialect.name == "postgresql":
        # the whole batch in one statement: a third less time than one UPDATE an entry, pipelined
        done = _PG_SEALED.run(session, {"rows": orjson.dumps(params).decode("utf-8")})
    else:
        done = session.connection().execute(_SEALED, params).rowcount
    if done not in (-1, len(params)):  # pragma: no cover - the head lock makes this impossible
        raise RuntimeError(f"sealed {done} of {len(params)} audit entries; nothing committed")
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=last, hash=prev_hash))
    return len(params)


def seal(db: Database, *, limit: int = SEAL_BATCH, rounds: int | None = None) -> int:
    """Seal every committed entry waiting (``rounds`` transactions at most); how many were sealed."""
    total, done = 0, 0
    while rounds is None or done < rounds:
        with db.transaction() as session:
            n = seal_batch(session, limit)
        total, done = total + n, done + 1
        if n < limit:
            break
    return total


def run_sealer(ctx: Any) -> None:
    """One round of the platform's sealer task (once per deployment: its lease picks the process)."""
    seal(ctx.db)


def unsealed(session: Session) -> int:
    """How many committed entries wait to be sealed."""
    return int(session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.pos.is_(None))) or 0)


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
    record(
        session,
        principal,
        action,
        object_type=object_type,
        object_id=object_id or subject,
        subject=subject,
        purpose=read_purpose(purpose),
        division_code=division_code,
        detail={"fields": fields} if fields else None,
    )


def read_purpose(purpose: str | None) -> str:
    """The purpose a read of personal data is recorded with; a read without one is refused."""
    if not purpose or not purpose.strip():
        raise InvalidInput(
            "reading personal data needs a purpose: send it in the X-OneCity-Purpose header "
            "(e.g. 'case 2026-000123 review')"
        )
    return purpose.strip()[:200]


def insert_from(
    rows: FromClause,
    action: str,
    *,
    object_type: str,
    subject: ColumnElement[str],
    division_code: ColumnElement[str | None],
    when: ColumnElement[bool],
) -> Insert:
    """An ``INSERT … SELECT`` appending one personal-read entry for each row of ``rows`` that meets ``when``.

    For a read and its entry in one statement (PostgreSQL: the insert in a ``WITH`` beside the
    read), so an audited read costs one round trip: build the statement once, at import, and
    execute it with :func:`insert_params`. The entry is what :func:`personal_read` writes (the
    subject is also the object), in the statement's transaction: outbox semantics as ever.
    """
    if action.count(".") < 2:
        raise ValueError(f"audit action {action!r} must be namespaced, e.g. 'hub.person.read'")
    t = table_of(AuditEntry)
    values: dict[str, ColumnElement[Any]] = {
        "at": bindparam("audit_at", type_=t.c.at.type),
        "actor": bindparam("audit_actor", type_=t.c.actor.type),
        "actor_name": bindparam("audit_actor_name", type_=t.c.actor_name.type),
        "action": literal(action, t.c.action.type),
        "object_type": literal(object_type, t.c.object_type.type),
        "object_id": subject,
        "subject": subject,
        "purpose": bindparam("audit_purpose", type_=t.c.purpose.type),
        "outcome": literal(str(Outcome.SUCCESS), t.c.outcome.type),
        "division_code": division_code,
        "detail": bindparam("audit_detail", type_=t.c.detail.type),
    }
    return insert(t).from_select(list(values), select(*values.values()).select_from(rows).where(when))


def insert_params(principal: Principal, purpose: str | None) -> dict[str, Any]:
    """The values a statement from :func:`insert_from` is executed with (the purpose checked)."""
    return {
        "audit_at": clock.now(),
        "audit_actor": principal.ref,
        "audit_actor_name": principal.name,
        "audit_purpose": read_purpose(purpose),
        "audit_detail": {},
    }


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    #: Sealed entries walked (positions ``1..entries`` when ``ok``).
    entries: int
    #: The chain position of the first bad entry.
    first_bad_seq: int | None = None
    reason: str | None = None
    #: How many signed checkpoints the chain was compared with (all agreed when ``ok``).
    checkpoints: int = 0
    #: Committed entries not yet sealed into the chain (the sealer's backlog; not verified).
    unsealed: int = 0


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
    """The sealed entries in chain order, as plain rows (no ORM objects: a city's log has millions)."""
    last = 0
    columns = [getattr(AuditEntry, k) for k in HASHED] + [AuditEntry.hash]
    while True:
        stmt = select(*columns).where(AuditEntry.pos > last)
        if upto is not None:
            stmt = stmt.where(AuditEntry.pos <= upto)
        rows = session.execute(stmt.order_by(AuditEntry.pos).limit(batch)).all()
        if not rows:
            return
        yield list(rows)
        last = rows[-1].pos


def verify(
    session: Session, *, checkpoints: Sequence[SignedHead] = (), progress: Progress | None = None
) -> VerifyResult:
    """Walk the whole sealed chain; report the first entry that was edited, removed or moved,
    and count the entries waiting to be sealed (``unsealed``).

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
            if e.pos != expected_seq:
                return VerifyResult(
                    False, count, expected_seq, f"entry {expected_seq} is missing (next entry present is {e.pos})"
                )
            if e.prev_hash != prev_hash:
                return VerifyResult(
                    False, count, e.pos, f"entry {e.pos} does not follow entry {e.pos - 1} (previous hash differs)"
                )
            if _digest(_fields(e._mapping)) != e.hash:
                return VerifyResult(False, count, e.pos, f"entry {e.pos} was altered (its content hash differs)")
            if (cp := signed.get(e.pos)) is not None and cp.head != e.hash:
                return VerifyResult(
                    False,
                    count,
                    e.pos,
                    f"{cp.name()} disagrees with the chain: it signed hash {cp.head[:16]}… for entry {e.pos}, "
                    f"the database now holds {str(e.hash)[:16]}… (the log was rewritten at or before entry {e.pos})",
                )
            prev_hash, expected_seq = e.hash, e.pos + 1
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
        beyond_head = session.scalar(select(func.max(AuditEntry.pos)).where(AuditEntry.pos > total))
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
    # a sealed entry stripped of its hash (or of its place) no longer follows: the walk above
    # stops at the gap; one with a place but no hash fails its content hash
    return VerifyResult(True, count, checkpoints=len(signed), unsealed=unsealed(session))
