"""Relays committed outbox rows to the bus, in order, and marks them sent.

Runs as a task in the API process (and in workers). A commit that wrote events wakes it at
once; otherwise it polls, so rows left by a process that died are sent on the next start.
A crash between publish and marking (or two relays sending the same row) re-sends the same
message id, which the bus discards inside its duplicate window.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from sqlalchemy import select

from onecity.core import clock
from onecity.core.bus.base import Bus
from onecity.core.db import Database
from onecity.core.events import OutboxMessage, envelope_of, on_outbox_commit

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(self, db: Database, bus: Bus, *, poll_seconds: float = 1.0, batch: int = 500) -> None:
        self.db, self.bus, self.poll_seconds, self.batch = db, bus, poll_seconds, batch
        self._wake = threading.Event()
        self.sent = 0
        on_outbox_commit(self._wake.set)

    def notify(self) -> None:
        self._wake.set()

    def _claim(self) -> list[OutboxMessage]:
        with self.db.sessions() as session:
            stmt = (select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
                    .order_by(OutboxMessage.occurred_at).limit(self.batch))
            return list(session.scalars(stmt))

    def _mark(self, ids: list[str]) -> None:
        with self.db.transaction() as session:
            stamp = clock.now()
            for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))):
                row.published_at = stamp
                row.attempts += 1

    async def relay_once(self) -> int:
        """Send what is pending now; returns how many were sent."""
        rows = await asyncio.to_thread(self._claim)
        if not rows:
            return 0
        sent: list[str] = []
        try:
            for row in rows:
                env = envelope_of(row)
                await self.bus.publish(row.subject, env.to_bytes(), row.id)
                sent.append(row.id)
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
            except Exception:
                log.exception("outbox relay failed; retrying")
                n = 0
            if n < self.batch:
                await asyncio.to_thread(self._wake.wait, self.poll_seconds)
                self._wake.clear()
