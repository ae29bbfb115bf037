"""Registered consumers run exactly once per event, with or without a bus."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onecity.core import clock, events
from onecity.core.bus import consumers
from onecity.core.bus.memory import MemoryBus
from onecity.core.bus.relay import OutboxRelay
from onecity.core.db import Database
from onecity.core.events import Envelope, OutboxMessage
from tests.conftest import SYSTEM


class Pinged(BaseModel):
    n: int


PINGED = events.event_type("test.consumer.pinged", Pinged)
PONGED = events.event_type("test.consumer.ponged", Pinged)
seen: list[tuple[str, int]] = []


@consumers.consumer("test.ping-to-pong", PINGED)
def _pong(session: Session, envelope: Envelope) -> None:
    n = envelope.typed(PINGED).n
    seen.append(("ping", n))
    events.publish(session, PONGED, Pinged(n=n), principal=SYSTEM, reason="answer")


def _warm() -> None:
    seen.append(("warm", 0))


@consumers.consumer("test.pong-seen", PONGED, warm=_warm)
def _seen(session: Session, envelope: Envelope) -> None:
    seen.append(("pong", envelope.typed(PONGED).n))


def _ping(db: Database, n: int) -> None:
    with db.transaction() as session:
        events.publish(session, PINGED, Pinged(n=n), principal=SYSTEM, reason="test")


def test_deliver_pending_runs_each_consumer_once_and_follows_their_events(db: Database) -> None:
    seen.clear()
    _ping(db, 1)
    _ping(db, 2)
    assert consumers.deliver_pending(db) == 4  # two pings, and the two pongs they caused
    # in the order they happened; the slow preparation runs before the transaction that delivers the
    # rows (several a transaction), not inside it
    assert seen == [("ping", 1), ("ping", 2), ("warm", 0), ("pong", 1), ("pong", 2)]
    assert consumers.deliver_pending(db) == 0
    with db.sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None)))
            == 0
        )


FAILING = events.event_type("test.consumer.failing", Pinged)
broken: list[int] = [13]


@consumers.consumer("test.failing-once", FAILING)
def _fail_once(session: Session, envelope: Envelope) -> None:
    n = envelope.typed(FAILING).n
    if n in broken:
        broken.remove(n)
        raise RuntimeError(f"consumer failed on {n}")
    events.publish(session, PONGED, Pinged(n=n), principal=SYSTEM, reason="answer")


def test_an_error_leaves_its_transactions_rows_unsent_and_they_are_delivered_again(db: Database) -> None:
    seen.clear()
    broken[:] = [13]
    with db.transaction() as session:
        for n in (3, 13, 4):
            events.publish(session, FAILING, Pinged(n=n), principal=SYSTEM, reason="test")
    with pytest.raises(RuntimeError, match="failed on 13"):
        consumers.deliver_pending(db)
    with db.sessions() as session:  # the rows delivered together with the failing one are rolled back too
        unsent = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        assert session.scalar(unsent) == 3
    assert consumers.deliver_pending(db) == 6  # again, and the three pongs they publish: each exactly once
    assert [n for what, n in seen if what == "pong"] == [3, 13, 4]


def test_a_row_already_in_a_consumers_inbox_is_marked_sent_without_running_it_again(db: Database) -> None:
    """A row published and processed, whose mark as sent was lost (the relay's crash between the
    two): delivered again, the consumer's inbox skips it and the others' still run."""
    seen.clear()
    _ping(db, 5)
    _ping(db, 6)
    with db.sessions() as session:
        first = session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.event_type == PINGED.name).order_by(OutboxMessage.occurred_at)
        )
    with db.transaction() as session:
        session.add(events.ProcessedMessage(consumer="test.ping-to-pong", message_id=first, processed_at=clock.now()))
    assert consumers.deliver_pending(db) == 3  # two pings, one pong: ping 5 was done before
    assert seen == [("ping", 6), ("warm", 0), ("pong", 6)]
    with db.sessions() as session:
        inbox = select(func.count()).select_from(events.ProcessedMessage)
        assert session.scalar(inbox.where(events.ProcessedMessage.message_id == first)) == 1
        pongs = session.scalar(inbox.where(events.ProcessedMessage.consumer == "test.pong-seen"))
        assert pongs is not None and pongs >= 1


def test_subscribed_consumers_run_from_the_relay(db: Database) -> None:
    seen.clear()

    async def scenario() -> None:
        bus = MemoryBus()
        await bus.connect()
        subs = await consumers.subscribe_all(db, bus)
        relay = OutboxRelay(db, bus)
        _ping(db, 7)
        for _ in range(200):
            await relay.relay_once()
            if ("pong", 7) in seen:
                break
            await asyncio.sleep(0.02)
        for s in subs:
            await s.stop()
        await bus.close()

    asyncio.run(scenario())
    assert seen.count(("ping", 7)) == 1 and seen.count(("pong", 7)) == 1


def test_events_of_one_instant_reach_their_consumers_in_the_order_they_were_published(db: Database) -> None:
    """A simulation freezes the clock for a step, so its events share one timestamp: ordered among
    themselves by a random id, they reached their consumers in another order each run, and the same
    seed gave other figures."""
    seen.clear()
    with clock.frozen(clock.now()):
        for n in range(120):
            _ping(db, n)
        with db.transaction() as session:
            events.publish_many(session, PINGED, [(Pinged(n=n), "test") for n in range(120, 240)], principal=SYSTEM)
        consumers.deliver_pending(db, batch=50, per_transaction=20)
    assert [n for kind, n in seen if kind == "ping"] == list(range(240))
    assert [n for kind, n in seen if kind == "pong"] == list(range(240))
