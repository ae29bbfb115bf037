"""Relays committed outbox rows to the bus, in order, and marks them sent.

Runs as a task in the API process (and in workers). A commit that wrote events wakes it
within ``gather_seconds`` (20 ms): the commits of that moment are sent with one read and one
marking transaction, not two transactions for each request's commit (which under load had
every Open311 report pay for three commits and the relay's claims queue for SQLite's writer).

**Each process sends its own rows.** A deployment runs a relay in every process (N API workers,
M ingest workers). Woken by a commit, a relay sends the rows its own process committed (their
ids come with the commit: :func:`onecity.core.events.written`), not every pending row: when all
relays sent all pending rows, every event went out once per process — with NATS the stream's
duplicate window dropped the copies after they cost a publish each; with the in-process bus of
a one-machine deployment every process's consumers handled every event, and all but one failed
on the consumer's inbox row after doing the work (seen with ``onecity serve --workers 2``).
A periodic sweep (every ``poll_seconds``) sends the rest: a pending row this relay saw pending at
its previous sweep too — left by a process that died, or written by a path that named no ids —
so a row is never stranded, and a live process's rows (sent within milliseconds) are not taken
from it. A crash between publish and marking (or two relays sending the same row) re-sends the
same message id, which the bus discards inside its duplicate window and consumers' inboxes skip.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Collection
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from onecity.core import clock
from onecity.core.bus.base import Bus
from onecity.core.db import Database, is_busy
from onecity.core.events import OutboxMessage, envelope_of, on_outbox_commit

if TYPE_CHECKING:
    from onecity.core.tasks import TaskContext

log = logging.getLogger(__name__)

#: Pending ids a sweep reads: a dead process's backlog drains at this many rows a sweep.
SWEEP_LIMIT = 5000
#: Own ids remembered at most (a process whose relay does not run must not grow them for ever).
OWN_LIMIT = 100_000


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
        #: ids this process committed and has not sent yet (filled by the commit hook, any thread)
        self._own: set[str] = set()
        self._own_lock = threading.Lock()
        #: pending rows seen at the last sweep: still pending at the next one, they are anyone's
        self._sighted: set[str] = set()
        self._swept_at = float("-inf")
        on_outbox_commit(self._committed)

    def notify(self) -> None:
        self._wake.set()

    def _committed(self, ids: tuple[str, ...]) -> None:
        if ids:
            with self._own_lock:
                if len(self._own) > OWN_LIMIT:  # nobody sends them (no loop running): the sweep will
                    self._own.clear()
                self._own.update(ids)
        self._wake.set()

    def _claim(self, ids: Collection[str] | None = None) -> list[OutboxMessage]:
        """Pending rows, oldest first: all of them, or those of ``ids``."""
        # a read: on SQLite it must not take the one writer the requests are waiting for
        with self.db.reading() as session:
            stmt = select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
            if ids is not None:
                stmt = stmt.where(OutboxMessage.id.in_(list(ids)))
            stmt = stmt.order_by(OutboxMessage.occurred_at, OutboxMessage.id).limit(self.batch)
            return list(session.scalars(stmt))

    def _pending_ids(self) -> list[str]:
        with self.db.reading() as session:
            stmt = (
                select(OutboxMessage.id)
                .where(OutboxMessage.published_at.is_(None))
                .order_by(OutboxMessage.occurred_at, OutboxMessage.id)
                .limit(SWEEP_LIMIT)
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
        """Send every row pending now, whoever wrote it (a one-off relay: tests, a drain); returns
        how many were sent. The running relay sends its own rows and sweeps (:meth:`run`)."""
        return await self._send(await asyncio.to_thread(self._claim))

    async def relay_own(self) -> int:
        """Send the pending rows this process committed; returns how many were sent."""
        with self._own_lock:
            ids = list(itertools.islice(self._own, self.batch))
        if not ids:
            return 0
        rows = await asyncio.to_thread(self._claim, ids)
        with self._own_lock:  # sent by someone already, or rolled back in the meantime: not ours to send
            self._own.difference_update(set(ids) - {r.id for r in rows})
        return await self._send(rows)

    async def sweep(self) -> int:
        """Send the pending rows that were pending at the previous sweep too; returns how many."""
        pending = await asyncio.to_thread(self._pending_ids)
        with self._own_lock:
            stale = [i for i in pending if i in self._sighted or i in self._own]
        self._sighted = set(pending) - set(stale)
        self._swept_at = time.monotonic()
        sent = 0
        for i in range(0, len(stale), self.batch):
            sent += await self._send(await asyncio.to_thread(self._claim, stale[i : i + self.batch]))
        return sent

    async def _send(self, rows: list[OutboxMessage]) -> int:
        """Publish ``rows``, ``in_flight`` at a time, and mark the ones the bus took.

        JetStream acknowledges each publish; waiting for one before sending the next caps the
        relay at one round trip per event. Order is kept within a window; consumers must not
        rely on order across events anyway.
        """
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
                with self._own_lock:
                    self._own.difference_update(sent)
        return len(sent)

    async def run(self) -> None:
        while True:
            try:
                n = await self.relay_own()
                if time.monotonic() - self._swept_at >= self.poll_seconds:
                    n += await self.sweep()
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
