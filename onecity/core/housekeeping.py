"""Housekeeping: tables that only grow are trimmed of rows nobody needs any more.

* expired browser sessions;
* sign-in attempts older than twice the throttling window;
* outbox rows sent more than ``keep_days`` ago, and consumer inbox entries as old
  (a message redelivered after that long would be a bug worth seeing, not a duplicate).

The audit log is never trimmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete

from onecity.core import clock
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.events import OutboxMessage, ProcessedMessage
from onecity.core.identity.models import LoginAttempt, WebSession


@dataclass(frozen=True)
class Trimmed:
    sessions: int
    login_attempts: int
    outbox: int
    inbox: int


def trim(db: Database, settings: Settings, keep_days: int = 7) -> Trimmed:
    now = clock.now()
    horizon = now - timedelta(days=keep_days)
    with db.transaction() as session:
        sessions = session.execute(delete(WebSession).where(WebSession.expires_at <= now)).rowcount
        attempts = session.execute(delete(LoginAttempt).where(
            LoginAttempt.at < now - timedelta(minutes=2 * settings.login_window_minutes))).rowcount
        outbox = session.execute(delete(OutboxMessage).where(
            OutboxMessage.published_at.is_not(None), OutboxMessage.published_at < horizon)).rowcount
        inbox = session.execute(delete(ProcessedMessage).where(ProcessedMessage.processed_at < horizon)).rowcount
    return Trimmed(sessions or 0, attempts or 0, outbox or 0, inbox or 0)
