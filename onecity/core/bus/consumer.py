"""Idempotent consumers: at-least-once delivery in, exactly-once effects out.

``idempotent(db, "name", fn)`` wraps a synchronous ``fn(session, envelope)`` so that it runs
in one transaction with the insert of the message id into the consumer's inbox. A message
seen before is acked without running ``fn``; a crash before commit leaves nothing and the
bus redelivers it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.core.bus.base import Delivery, Handler
from onecity.core.db import Database
from onecity.core.events import Envelope, ProcessedMessage


def process_once(db: Database, consumer: str, fn: Callable[[Session, Envelope], None], envelope: Envelope) -> bool:
    """Run ``fn`` for ``envelope`` unless ``consumer`` has already; True when it ran."""
    with db.transaction() as session:
        return run_once(session, consumer, fn, envelope)


def run_once(session: Session, consumer: str, fn: Callable[[Session, Envelope], None], envelope: Envelope) -> bool:
    """:func:`process_once` inside the caller's transaction (several messages committed together)."""
    seen = session.execute(
        select(ProcessedMessage.message_id).where(
            ProcessedMessage.consumer == consumer, ProcessedMessage.message_id == envelope.id
        )
    ).first()
    if seen:
        return False
    session.add(ProcessedMessage(consumer=consumer, message_id=envelope.id, processed_at=clock.now()))
    fn(session, envelope)
    return True


def idempotent(
    db: Database,
    consumer: str,
    fn: Callable[[Session, Envelope], None],
    *,
    warm: Callable[[], object] | None = None,
    prepare: Callable[[Database, Envelope], object] | None = None,
) -> Handler:
    def _process(delivery: Delivery) -> None:
        envelope = Envelope.from_bytes(delivery.data)
        if warm is not None:  # outside the transaction: never hold the write lock while building
            warm()
        if prepare is not None:  # slow per-message work (OCR), also outside the transaction
            prepare(db, envelope)
        process_once(db, consumer, fn, envelope)

    async def handler(delivery: Delivery) -> None:
        await asyncio.to_thread(_process, delivery)

    return handler
