"""Idempotent consumers: at-least-once delivery in, exactly-once effects out.

``idempotent(db, "name", fn)`` wraps a synchronous ``fn(session, envelope)`` so that it runs
in one transaction with the insert of the message id into the consumer's inbox. A message
seen before is acked without running ``fn``; a crash before commit leaves nothing and the
bus redelivers it. A burst of waiting messages is handled in one transaction (one inbox query,
one inbox insert, one commit: :class:`IdempotentHandler`), the way ``deliver_pending`` does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.core.bus.base import BatchHandler, Delivery
from onecity.core.db import Database
from onecity.core.events import Envelope, ProcessedMessage

log = logging.getLogger(__name__)


def process_once(db: Database, consumer: str, fn: Callable[[Session, Envelope], None], envelope: Envelope) -> bool:
    """Run ``fn`` for ``envelope`` unless ``consumer`` has already; True when it ran.

    Two deliveries of one message can race (two relays sent it: one was slow to mark it sent):
    the second to commit fails on the inbox's key, and finds the message processed — it was,
    once, by the first; that is the outcome wanted, not a failure to redeliver.
    """
    try:
        with db.transaction() as session:
            return run_once(session, consumer, fn, envelope)
    except IntegrityError:
        with db.sessions() as session:
            if _processed(session, consumer, [envelope.id]):
                return False
        raise


def _processed(session: Session, consumer: str, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are in ``consumer``'s inbox, as ``session`` sees it: one query."""
    stmt = select(ProcessedMessage.message_id).where(
        ProcessedMessage.consumer == consumer, ProcessedMessage.message_id.in_(list(ids))
    )
    return set(session.scalars(stmt))


def run_once(session: Session, consumer: str, fn: Callable[[Session, Envelope], None], envelope: Envelope) -> bool:
    """:func:`process_once` inside the caller's transaction (several messages committed together)."""
    if _processed(session, consumer, [envelope.id]):
        return False
    session.add(ProcessedMessage(consumer=consumer, message_id=envelope.id, processed_at=clock.now()))
    fn(session, envelope)
    return True


class IdempotentHandler:
    """A bus handler running ``fn`` once per message, through the consumer's inbox.

    Called with one delivery, it handles it in a transaction of its own. Given several that are
    waiting (:meth:`batch`; the buses call it when a fetch or their queue holds more than one), it
    handles them in one transaction — one inbox query, one inbox insert, one commit — instead of
    a thread hop and a commit each: under load a consumer's cost per message is then its own
    work. A batch that fails is rolled back and its messages handled one by one, so one bad
    message is redelivered alone and the others commit.
    """

    def __init__(
        self,
        db: Database,
        consumer: str,
        fn: Callable[[Session, Envelope], None],
        warm: Callable[[], object] | None,
        prepare: Callable[[Database, Envelope], object] | None,
    ) -> None:
        self.db, self.consumer, self.fn, self.warm, self.prepare = db, consumer, fn, warm, prepare
        #: A consumer with slow per-message work (``prepare``: OCR) takes its messages one at a
        #: time: a burst of them prepared in one call could outlast the bus's acknowledgement wait.
        self.batch: BatchHandler | None = self._batch if prepare is None else None

    def _process(self, delivery: Delivery) -> None:
        envelope = Envelope.from_bytes(delivery.data)
        if self.warm is not None:  # outside the transaction: never hold the write lock while building
            self.warm()
        if self.prepare is not None:  # slow per-message work (OCR), also outside the transaction
            self.prepare(self.db, envelope)
        process_once(self.db, self.consumer, self.fn, envelope)

    def _process_many(self, deliveries: Sequence[Delivery]) -> list[BaseException | None]:
        envelopes = [Envelope.from_bytes(d.data) for d in deliveries]
        if self.warm is not None:
            self.warm()
        try:
            with self.db.transaction() as session:
                seen = _processed(session, self.consumer, [e.id for e in envelopes])
                inbox = []
                for envelope in envelopes:
                    if envelope.id in seen:
                        continue
                    seen.add(envelope.id)  # the same message twice in one batch runs once
                    inbox.append({"consumer": self.consumer, "message_id": envelope.id, "processed_at": clock.now()})
                    self.fn(session, envelope)
                if inbox:
                    session.execute(insert(ProcessedMessage), inbox)
            return [None] * len(deliveries)
        except Exception:  # one bad message, or a race on the inbox: each message on its own
            pass
        outcomes: list[BaseException | None] = []
        for envelope in envelopes:
            try:
                process_once(self.db, self.consumer, self.fn, envelope)
                outcomes.append(None)
            except Exception as err:
                outcomes.append(err)
        if any(o is not None for o in outcomes):
            n = sum(1 for o in outcomes if o is not None)
            log.warning("consumer %s: %d of a batch of %d failed", self.consumer, n, len(envelopes))
        return outcomes

    async def __call__(self, delivery: Delivery) -> None:
        await asyncio.to_thread(self._process, delivery)

    async def _batch(self, deliveries: Sequence[Delivery]) -> list[BaseException | None]:
        """Handle ``deliveries`` together; each one's outcome: None (done) or the error it raised."""
        return await asyncio.to_thread(self._process_many, deliveries)


def idempotent(
    db: Database,
    consumer: str,
    fn: Callable[[Session, Envelope], None],
    *,
    warm: Callable[[], object] | None = None,
    prepare: Callable[[Database, Envelope], object] | None = None,
) -> IdempotentHandler:
    """``fn`` as a bus handler that runs once per message (:class:`IdempotentHandler`)."""
    return IdempotentHandler(db, consumer, fn, warm, prepare)
