"""Time-limit clocks: reminders before a step falls due, escalation after.

:func:`sweep` finds the cases whose reminder or escalation time has come (two indexed
columns, ``remind_at`` and ``escalate_at``, set when each step starts) and runs
:func:`onecity.ops.service.remind` / :func:`~onecity.ops.service.escalate` on each, one
short transaction per case, as the principal ``ops:clock``. The server runs it every
minute (:func:`run`, the ``ops.clocks`` task of this part's manifest), and the simulation
after every step; running it twice changes nothing the second time.

The reminder is the early warning (临期预警): at 80 % of a step's limit (half of it for an urgent
case, :data:`onecity.ops.service.REMIND_AT_SHARE`) the case is flagged
(``warned_at``, a badge on the centre's list) and ``ops.case.reminded`` is published, once per step.
Then the sweep looks at the cases still waiting for their unit (dispatched, not taken on): one whose
unit has no free crew on shift after a quarter of its disposal time is re-dispatched to the nearest
unit of its department that has one (:func:`onecity.ops.service.redispatch`), keeping its deadline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import or_, select

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.identity.principal import system_principal
from onecity.core.tasks import TaskContext
from onecity.ops import service
from onecity.ops.models import Case, Status

log = logging.getLogger(__name__)

CLOCK = system_principal("ops:clock")
BATCH = 500


@dataclass(frozen=True)
class Swept:
    reminded: int
    escalated: int
    redispatched: int = 0


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
            return Swept(reminded, escalated, _redispatch(db))
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
            return Swept(reminded, escalated, _redispatch(db))


def _redispatch(db: Database) -> int:
    """Move the waiting cases whose unit cannot get to them; the number moved."""
    now = clock.now()
    with db.sessions() as session:
        rows = session.execute(
            select(Case.id, Case.step_started_at, Case.step_due_at)
            .where(Case.status == Status.DISPATCHED, Case.redispatches < service.MAX_REDISPATCHES)
            .order_by(Case.step_due_at, Case.id)
        ).all()
    moved = 0
    for case_id, started, due in rows:
        if started is None or due is None or now < started + (due - started) * service.REDISPATCH_AT_SHARE:
            continue
        with db.transaction() as session:
            case = session.get(Case, case_id)
            if case is not None and service.needs_redispatch(session, case, now):
                moved += service.redispatch(session, CLOCK, case_id) is not None
    return moved


def run(ctx: TaskContext) -> Swept:
    """One round of the server's clock task (:mod:`onecity.core.tasks` runs it every minute)."""
    swept = sweep(ctx.db)
    if swept.reminded or swept.escalated or swept.redispatched:
        log.info(
            "ops clocks: %d warned, %d escalated, %d re-dispatched", swept.reminded, swept.escalated, swept.redispatched
        )
    return swept
