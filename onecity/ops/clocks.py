"""Time-limit clocks: reminders before a step falls due, escalation after.

:func:`sweep` finds the cases whose reminder or escalation time has come (two indexed
columns, ``remind_at`` and ``escalate_at``, set when each step starts) and runs
:func:`onecity.ops.service.remind` / :func:`~onecity.ops.service.escalate` on each, one
short transaction per case, as the principal ``ops:clock``. The server runs it every
minute beside the outbox relay, and the simulation after every step; running it twice
changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.identity.principal import system_principal
from onecity.ops import service
from onecity.ops.models import Case

CLOCK = system_principal("ops:clock")
BATCH = 500


@dataclass(frozen=True)
class Swept:
    reminded: int
    escalated: int


def sweep(db: Database) -> Swept:
    """Send due reminders and escalate overdue cases, a level at a time."""
    reminded = escalated = 0
    while True:
        now = clock.now()
        with db.sessions() as session:
            rows = session.execute(
                select(Case.id, Case.remind_at, Case.escalate_at)
                .where(or_(Case.remind_at <= now, Case.escalate_at <= now))
                .order_by(Case.id)
                .limit(BATCH)
            ).all()
        if not rows:
            return Swept(reminded, escalated)
        changed = 0
        for case_id, remind_at, escalate_at in rows:
            with db.transaction() as session:
                if remind_at is not None and remind_at <= now and service.remind(session, CLOCK, case_id):
                    reminded += 1
                    changed += 1
                if escalate_at is not None and escalate_at <= now and service.escalate(session, CLOCK, case_id):
                    escalated += 1
                    changed += 1
        if len(rows) < BATCH or changed == 0:
            return Swept(reminded, escalated)


async def run_periodically(db: Database, every_seconds: float = 60.0) -> None:
    """The server's clock task: sweep every minute, off the event loop; a failure waits for the next round.

    It first builds the grid index intake locates reports with, so the first report after a
    start does not wait for it."""
    import asyncio
    import logging

    log = logging.getLogger(__name__)
    from onecity.hub.geography.index import default_index

    await asyncio.to_thread(default_index)  # build the grid index now, not on the first report (seconds)
    while True:
        try:
            swept = await asyncio.to_thread(sweep, db)
            if swept.reminded or swept.escalated:
                log.info("ops clocks: %d reminded, %d escalated", swept.reminded, swept.escalated)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ops clock sweep failed; will try again")
        await asyncio.sleep(every_seconds)
