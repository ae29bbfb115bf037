"""Typed domain events and the transactional outbox.

A service function announces what happened with :func:`publish`, in the same transaction as
the change itself. The event is a row in ``outbox``; if the transaction rolls back the event
never existed. After commit the relay (:mod:`onecity.core.bus.relay`) sends it to the bus,
with the outbox row's id as the message id, so a relay that crashes after sending but
before marking the row sent causes a duplicate the bus discards, not a second event.

Event types are registered once, with the pydantic model of their payload::

    USER_CREATED = event_type("core.user.created", UserCreated)
    events.publish(session, USER_CREATED, UserCreated(...), principal=p, reason="…")
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel
from sqlalchemy import JSON, Integer, String, event, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from onecity.core import clock
from onecity.core.db import Base, ordered_id, table_of
from onecity.core.errors import InvalidInput
from onecity.core.identity.principal import Principal

P = TypeVar("P", bound=BaseModel)

SUBJECT_PREFIX = "onecity"


@dataclass(frozen=True)
class EventType(Generic[P]):
    name: str
    payload: type[P]

    @property
    def subject(self) -> str:
        return f"{SUBJECT_PREFIX}.{self.name}"


REGISTRY: dict[str, EventType[Any]] = {}


def event_type(name: str, payload: type[P]) -> EventType[P]:
    """Register an event type; names are namespaced like audit actions (``part.thing.verb``)."""
    if name.count(".") < 2:
        raise ValueError(f"event name {name!r} must be namespaced, e.g. 'core.user.created'")
    if name in REGISTRY and REGISTRY[name].payload is not payload:
        raise ValueError(f"event type {name!r} is already registered with another payload")
    et = EventType(name, payload)
    REGISTRY[name] = et
    return et


#: Longest reason an event carries: what people may write when they decide (a refusal's grounds).
REASON_MAX = 2000


class OutboxMessage(Base):
    __tablename__ = "outbox"

    #: ordered: events of one instant are delivered in the order they were published (:func:`ordered_id`)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=ordered_id)
    subject: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(REASON_MAX))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


_PUBLISH = insert(table_of(OutboxMessage))


class ProcessedMessage(Base):
    """Inbox of an idempotent consumer: a message id seen once is never processed again."""

    __tablename__ = "processed_messages"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime]


#: Options that make orjson refuse what the standard library would refuse, so that the fallback
#: below raises as before: datetimes, dataclasses and subclasses of the basic types.
_ORJSON_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
#: Every digit as ``0``, anything else as a space: ``_LONG_DIGITS in data.translate(_DIGITS)`` finds a
#: run of 19 digits, an integer orjson might read beyond 64 bits (it makes floats of those, silently).
#: Several times faster than ``re.search(rb"[0-9]{19}")`` on a large envelope.
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGITS = b"0" * 19


def _dumps(value: Any) -> bytes:
    """An envelope as bytes: orjson, several times faster than the standard library on every event
    the relay sends, giving the same JSON — compact, UTF-8, non-ASCII written as itself, keys in
    order — that consumers of every version read (floats may differ in spelling only: ``1e-7``, not
    ``1e-07``). Where the two differ the standard library writes it, as before: an integer beyond 64
    bits (orjson refuses it) and NaN or ±Infinity (orjson writes ``null``; so any ``null`` in the
    output sends the value the slow way: a lost float is worse than a slower event)."""
    try:
        out = orjson.dumps(value, option=_ORJSON_STRICT)
    except TypeError:  # orjson.JSONEncodeError: big integers, surrogates, other types, deep nesting
        out = b"null"
    if b"null" not in out:
        return out
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _loads(data: bytes) -> Any:
    """An envelope read from bytes: orjson (a quarter of a consumer's CPU was the standard library's
    decoding), the standard library where orjson would read differently: integers of 19 digits or
    more (orjson turns those beyond 64 bits into floats) and what it refuses (NaN, a lone surrogate
    escape, encodings other than UTF-8)."""
    if _LONG_DIGITS not in data.translate(_DIGITS):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


@dataclass(frozen=True)
class Envelope:
    """What travels on the bus: the event and who caused it, and why."""

    id: str
    type: str
    occurred_at: str
    actor: str
    reason: str
    payload: dict[str, Any]

    def to_bytes(self) -> bytes:
        return _dumps(self.__dict__)

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        return cls(**_loads(data))

    def typed(self, et: EventType[P]) -> P:
        if self.type != et.name:
            raise ValueError(f"envelope holds {self.type}, not {et.name}")
        return et.payload.model_validate(self.payload)


def publish(session: Session, et: EventType[P], payload: P, *, principal: Principal, reason: str) -> str:
    """Write the event to the outbox inside the caller's transaction; returns the message's id.

    One ``INSERT`` on the session's connection, compiled once: every change of the platform
    writes an event, and an ORM object for the commit's flush to sort and write cost more
    than the statement itself. The outbox refers to no other table, so the row need not wait
    for the flush of what the event is about.
    """
    row = message_row(et, payload, principal=principal, reason=reason)
    session.connection().execute(_PUBLISH, row)
    written(session, (row["id"],))
    return str(row["id"])


def message_row(et: EventType[P], payload: P, *, principal: Principal, reason: str) -> dict[str, Any]:
    """The outbox row of one event (checked as :func:`publish` checks it), for :func:`publish` and for
    a statement that writes the event together with its change (an ``INSERT`` in a ``WITH``); such a
    caller also calls :func:`written`."""
    if not isinstance(payload, et.payload):
        raise TypeError(f"{et.name} carries {et.payload.__name__}, not {type(payload).__name__}")
    if len(reason) > REASON_MAX:
        # refused here, before the database would (PostgreSQL enforces the length, SQLite not)
        raise InvalidInput(f"a reason is at most {REASON_MAX} characters, not {len(reason)}")
    return {
        "id": ordered_id(),
        "subject": et.subject,
        "event_type": et.name,
        "payload": payload.model_dump(mode="json"),
        "actor": principal.ref,
        "reason": reason,
        "occurred_at": clock.now(),
        "published_at": None,
        "attempts": 0,
    }


def written(session: Session, ids: Iterable[str] = ()) -> None:
    """Note that ``session`` wrote to the outbox rows ``ids``: its commit wakes this process's relay,
    which sends those rows at once. The relays of the deployment's other processes leave them to
    this one (:mod:`onecity.core.bus.relay`): each event is published, and consumed, once."""
    session.info["outbox_written"] = True
    if ids:
        session.info.setdefault("outbox_ids", []).extend(ids)


def publish_many(session: Session, et: EventType[P], items: Sequence[tuple[P, str]], *, principal: Principal) -> int:
    """Write many events of one type to the outbox in one multi-row insert, inside the caller's
    transaction: ``items`` is each event's payload and reason (a batch of offers, not 1,000 round trips).
    Each row is :func:`message_row`'s, checked as :func:`publish` checks one."""
    rows = [message_row(et, payload, principal=principal, reason=reason) for payload, reason in items]
    if rows:
        session.execute(insert(table_of(OutboxMessage)), rows)
        written(session, [str(r["id"]) for r in rows])
    return len(rows)


def envelope_of(msg: OutboxMessage) -> Envelope:
    return Envelope(
        id=msg.id,
        type=msg.event_type,
        occurred_at=msg.occurred_at.isoformat(),
        actor=msg.actor,
        reason=msg.reason,
        payload=msg.payload,
    )


_commit_listeners: list[Callable[[tuple[str, ...]], object]] = []


def on_outbox_commit(callback: Callable[[tuple[str, ...]], object]) -> None:
    """Call ``callback(ids)`` after any transaction that wrote to the outbox commits (wakes the relay);
    ``ids`` are the committed rows' ids the writer named (:func:`written`), possibly none."""
    _commit_listeners.append(callback)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids = tuple(session.info.pop("outbox_ids", ()))
    if session.info.pop("outbox_written", False):
        for cb in list(_commit_listeners):
            cb(ids)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("outbox_written", None)
    session.info.pop("outbox_ids", None)
