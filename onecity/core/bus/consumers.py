"""The platform's event consumers, registered once and run wherever events flow.

A part that reacts to another part's events (urban operations opening a case for a sensor
alert, or a hotline work order for a bad service rating) registers a consumer here instead
of being called directly, so neither part imports the other's services::

    @consumers.consumer("ops.case-from-alert", ALERT_RAISED)
    def open_case_for_alert(session: Session, envelope: Envelope) -> None: ...

and lists its module in its manifest's ``consumers`` (:mod:`onecity.core.parts`). The same consumers run in two ways:

- in a server or worker, :func:`subscribe_all` subscribes each to the bus (durable, acked,
  exactly-once through the consumer's inbox), fed by the outbox relay;
- in a process with no bus (the simulation command, tests), :func:`deliver_pending` hands
  pending outbox rows to the consumers synchronously, in order, through the same inbox, and
  marks them sent. It is deterministic, which a seeded simulation needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from onecity.core import clock, parts
from onecity.core.bus.base import Bus, Subscription, subject_matches
from onecity.core.bus.consumer import idempotent, run_once
from onecity.core.db import Database
from onecity.core.events import Envelope, EventType, OutboxMessage, ProcessedMessage, envelope_of

ConsumerFn = Callable[[Session, Envelope], None]
PrepareFn = Callable[[Database, Envelope], object]


@dataclass(frozen=True)
class Consumer:
    #: Durable name on the bus and key of the consumer's inbox; never rename a live one.
    name: str
    event: EventType[Any]
    fn: ConsumerFn
    #: Called before each message's transaction opens: builds what ``fn`` needs that is slow the
    #: first time (an in-process index, say), so no write lock is held while it is built.
    warm: Callable[[], object] | None = None
    #: Called with the message before its transaction opens, for slow per-message work whose
    #: result ``fn`` finds again by itself (OCR of a case's uploads into the OCR cache, say):
    #: the transaction then takes milliseconds, not the seconds the slow work needs. ``fn``
    #: must not depend on it having run (a redelivery after a crash skips nothing but speed).
    prepare: PrepareFn | None = None

    @property
    def subject(self) -> str:
        return self.event.subject


_REGISTRY: dict[str, Consumer] = {}


def consumer(
    name: str, event: EventType[Any], *, warm: Callable[[], object] | None = None, prepare: PrepareFn | None = None
) -> Callable[[ConsumerFn], ConsumerFn]:
    """Register ``fn(session, envelope)`` to run once for every ``event`` (``warm`` and
    ``prepare`` as in :class:`Consumer`)."""

    def register(fn: ConsumerFn) -> ConsumerFn:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.fn is not fn and existing.fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"consumer {name!r} is already registered")
        _REGISTRY[name] = Consumer(name, event, fn, warm, prepare)
        return fn

    return register


def registered() -> list[Consumer]:
    """Every consumer registered in this process, after importing the installed parts' ``consumers`` modules."""
    parts.import_all("consumers")
    return sorted(_REGISTRY.values(), key=lambda c: c.name)


async def subscribe_all(db: Database, bus: Bus) -> list[Subscription]:
    return [
        await bus.subscribe(c.subject, c.name, idempotent(db, c.name, c.fn, warm=c.warm, prepare=c.prepare))
        for c in registered()
    ]


def _mark(session: Session, ids: list[str]) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(published_at=clock.now(), attempts=OutboxMessage.attempts + 1)
    )


def deliver_pending(db: Database, *, batch: int = 500, per_transaction: int = 200) -> int:
    """Give every unsent outbox row to the consumers, in order, then mark it sent.

    Only for processes that run no relay: a server relaying the same database would find
    these rows already sent. Events that consumers publish are delivered in the same call.

    Up to ``per_transaction`` rows are handled in one transaction (each consumer's inbox row, its
    effects and the rows' marks as sent commit together): a city-wide offer run publishes tens of
    thousands of events, and two commits each made the simulation's first step take minutes. The
    order and the effects are those of one row at a time; an error rolls back the rows of its
    transaction, which stay unsent and are delivered again. A row whose consumer has slow
    ``prepare`` work (OCR) ends the transaction before it and is handled alone, so no transaction is
    held across that work.
    """
    consumers = registered()
    delivered = 0
    while True:
        with db.sessions() as session:
            rows = list(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.published_at.is_(None))
                    .order_by(OutboxMessage.occurred_at, OutboxMessage.id)
                    .limit(batch)
                )
            )
        if not rows:
            return delivered
        pending: list[tuple[OutboxMessage, list[Consumer]]] = []
        for row in rows:
            matched = [c for c in consumers if subject_matches(c.subject, row.subject)]
            if any(c.prepare is not None for c in matched):
                _deliver_together(db, pending)
                pending = []
                envelope = envelope_of(row)
                for i, c in enumerate(matched):
                    if c.warm is not None:
                        c.warm()
                    if c.prepare is not None:
                        c.prepare(db, envelope)
                    with db.transaction() as session:
                        run_once(session, c.name, c.fn, envelope)
                        if i == len(matched) - 1:  # the row is marked sent with its last consumer's effect
                            _mark(session, [row.id])
            else:
                pending.append((row, matched))
                if len(pending) >= per_transaction:
                    _deliver_together(db, pending)
                    pending = []
            delivered += 1
        _deliver_together(db, pending)


def _deliver_together(db: Database, rows: list[tuple[OutboxMessage, list[Consumer]]]) -> None:
    """Hand ``rows`` to their consumers in order and mark them sent, in one transaction.

    As :func:`~onecity.core.bus.consumer.run_once` for each row and consumer, with the inbox read
    and written once for the batch: one query finds the messages a consumer has already processed
    (redelivered after a crash: skipped), one insert records the rest. A city-wide offer run
    publishes tens of thousands of events; an inbox query and an insert flushed before each
    consumer's own first query were a third of their delivery's cost.
    """
    if not rows:
        return
    # outside the transaction, once per consumer for the rows it takes: never hold the write lock while building
    for c in {c.name: c for _row, matched in rows for c in matched if c.warm is not None}.values():
        assert c.warm is not None
        c.warm()
    envelopes = [(envelope_of(row), matched) for row, matched in rows if matched]
    with db.transaction() as session:
        seen: set[tuple[str, str]] = set()
        ids = [envelope.id for envelope, _ in envelopes]
        for start in range(0, len(ids), 500):
            seen.update(
                (str(name), str(message))
                for name, message in session.execute(
                    select(ProcessedMessage.consumer, ProcessedMessage.message_id).where(
                        ProcessedMessage.message_id.in_(ids[start : start + 500])
                    )
                )
            )
        inbox: list[dict[str, Any]] = []
        for envelope, matched in envelopes:
            for c in matched:
                if (c.name, envelope.id) in seen:
                    continue
                seen.add((c.name, envelope.id))
                inbox.append({"consumer": c.name, "message_id": envelope.id, "processed_at": clock.now()})
                c.fn(session, envelope)
        if inbox:
            session.execute(insert(ProcessedMessage), inbox)
        _mark(session, [row.id for row, _ in rows])
