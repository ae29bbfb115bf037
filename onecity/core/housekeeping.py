"""Housekeeping: tables that only grow are trimmed of rows nobody needs any more.

* expired browser sessions;
* sign-in attempts older than twice the throttling window;
* outbox rows sent more than ``keep_days`` ago, and consumer inbox entries as old
  (a message redelivered after that long would be a bug worth seeing, not a duplicate);
* ``Idempotency-Key`` answers older than ``ONECITY_IDEMPOTENCY_KEEP_HOURS`` (24 h).

The audit log is never trimmed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import CursorResult, Delete, delete
from sqlalchemy.orm import Session

from onecity.core import clock, idempotency
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.events import OutboxMessage, ProcessedMessage
from onecity.core.identity.models import LoginAttempt, LoginThrottle, WebSession

if TYPE_CHECKING:
    from onecity.core.tasks import TaskContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trimmed:
    sessions: int
    login_attempts: int
    outbox: int
    inbox: int
    idempotency_keys: int = 0


def _deleted(session: Session, stmt: Delete) -> int:
    result: CursorResult[Any] = session.execute(stmt)  # type: ignore[assignment]
    return result.rowcount or 0


def trim(db: Database, settings: Settings, keep_days: int = 7) -> Trimmed:
    now = clock.now()
    horizon = now - timedelta(days=keep_days)
    with db.transaction() as session:
        sessions = _deleted(session, delete(WebSession).where(WebSession.expires_at <= now))
        attempts = _deleted(
            session,
            delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(minutes=2 * settings.login_window_minutes)),
        )
        forgotten = now.timestamp() - 2 * settings.login_window_minutes * 60
        attempts += _deleted(
            session,
            delete(LoginThrottle).where(LoginThrottle.last_at < forgotten, LoginThrottle.blocked_until < forgotten),
        )
        outbox = _deleted(
            session,
            delete(OutboxMessage).where(OutboxMessage.published_at.is_not(None), OutboxMessage.published_at < horizon),
        )
        inbox = _deleted(session, delete(ProcessedMessage).where(ProcessedMessage.processed_at < horizon))
        keys = idempotency.forget_older_than(session, settings.idempotency_keep_hours)
    return Trimmed(sessions, attempts, outbox, inbox, keys)


def run(ctx: TaskContext) -> Trimmed:
    """One round of the server's housekeeping task (every ten minutes; the platform's manifest)."""
    trimmed = trim(ctx.db, ctx.settings)
    log.debug("housekeeping: %s", trimmed)
    return trimmed
