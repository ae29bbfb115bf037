"""Relays committed outbox rows to the bus, in order, and marks them sent.

Runs as a task in the API process (and in workers). A commit that wrote events wakes it
within ``gather_seconds`` (20 ms): the commits of that moment are sent with one read and one
marking transaction, not two transactions for each request's commit (which under load had
every Open311 report pay for three commits and the relay's claims queue for SQLite's writer).
Otherwise it polls, so rows left by a process that died are sent on the next start.
A crash between publish and marking (or two relays sending the same row) re-sends the same
message id, which the bus discards inside its duplicate window.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from onecity.core import clock
from onecity.core.bus.base import Bus
from onecity.core.db import Database, is_busy
from onecity.core.events import OutboxMessage, envelope_of, on_outbox_commit

if TYPE_CHECKING:
    from onecity.core.tasks import TaskContext

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        poll_seconds: float = 1.0,
        batch: int = 500,
        in_flight: int = 64,
        gather_seconds: float = 0.02,
    ) -> None:
        self.db, self.bus, self.poll_seconds, self.batch = db, bus, poll_seconds, batch
        self.in_flight, self.gather_seconds = in_flight, gather_seconds
        self._wake = threading.Event()
        self.sent = 0
        on_outbox_commit(self._wake.set)

    def notify(self) -> None:
        self._wake.set()

    def _claim(self) -> list[OutboxMessage]:
        # a read: on SQLite it must not take the one writer the requests are waiting for
        with self.db.reading() as session:
            stmt = (
                select(OutboxMessage)
                .where(OutboxMessage.published_at.is_(None))
                .order_by(OutboxMessage.occurred_at, OutboxMessage.id)
                .limit(self.batch)
            )
            return list(session.scalars(stmt))

    def _mark(self, ids: list[str]) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(published_at=clock.now(), attempts=OutboxMessage.attempts + 1)
            )

    async def relay_once(self) -> int:
        """Send what is pending now; returns how many were sent.

        Publishes go out ``in_flight`` at a time (JetStream acknowledges each; waiting for
        one before sending the next caps the relay at one round trip per event). Order is
        kept within a window; consumers must not rely on order across events anyway.
        """
        rows = await asyncio.to_thread(self._claim)
        if not rows:
            return 0
        sent: list[str] = []
        try:
            for i in range(0, len(rows), self.in_flight):
                window = rows[i : i + self.in_flight]
                results = await asyncio.gather(
                    *(self.bus.publish(r.subject, envelope_of(r).to_bytes(), r.id) for r in window),
                    return_exceptions=True,
                )
                ok = [r.id for r, res in zip(window, results, strict=True) if not isinstance(res, BaseException)]
                sent.extend(ok)
                failed = next((res for res in results if isinstance(res, BaseException)), None)
                if failed is not None:
                    raise failed
        finally:
            if sent:
                await asyncio.to_thread(self._mark, sent)
                self.sent += len(sent)
        return len(sent)

    async def run(self) -> None:
        while True:
            try:
                n = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if is_busy(err):  # another writer held the database past the busy timeout
                    log.warning("outbox relay: the database was busy; retrying")
                else:
                    log.exception("outbox relay failed; retrying")
                n = 0
            if n < self.batch:
                await asyncio.to_thread(self._wake.wait, self.poll_seconds)
                if self._wake.is_set() and self.gather_seconds > 0:
                    await asyncio.sleep(self.gather_seconds)  # the other commits of this moment
                self._wake.clear()


#: The relay's name among the periodic tasks (the platform's manifest registers it; a worker runs it too).
TASK_NAME = "outbox-relay"


async def run_relay(ctx: TaskContext) -> None:
    """The server's relay task (registered in the platform's manifest): relay until cancelled.

    Cancelling it wakes the thread waiting for a commit, so shutdown does not wait out a poll.
    """
    relay = OutboxRelay(ctx.db, ctx.bus, poll_seconds=ctx.settings.outbox_poll_seconds)
    try:
        await relay.run()
    finally:
        relay.notify()
