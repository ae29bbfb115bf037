"""Housekeeping trims what only grows, and keeps what is still needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from onecity.core import clock, events, housekeeping
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.events import OutboxMessage
from onecity.core.identity.models import LoginAttempt
from tests.conftest import SYSTEM
from tests.core.test_events import PINGED, Pinged


def test_trim_removes_only_old_rows(db: Database, settings: Settings) -> None:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    with clock.frozen(t0) as advance:
        with db.transaction() as session:
            events.publish(session, PINGED, Pinged(n=1), principal=SYSTEM, reason="old")
            session.add(LoginAttempt(username="a", client="c", at=clock.now(), success=False))
        with db.transaction() as session:
            for row in session.scalars(select(OutboxMessage)):
                row.published_at = clock.now()
        advance(timedelta(days=8).total_seconds())
        with db.transaction() as session:
            events.publish(session, PINGED, Pinged(n=2), principal=SYSTEM, reason="pending")
            session.add(LoginAttempt(username="a", client="c", at=clock.now(), success=False))
        trimmed = housekeeping.trim(db, settings)
    assert (trimmed.outbox, trimmed.login_attempts) == (1, 1)
    with db.sessions() as session:
        # the unsent event stays whatever its age
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
