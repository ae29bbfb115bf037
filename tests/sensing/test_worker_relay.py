"""The ingest worker relays its events with the platform's relay task (the server's, through the
same task runner), not a relay of its own, and stops it with the pipeline."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from onecity.core import events
from onecity.core.bus import relay
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.events import OutboxMessage
from onecity.core.tasks import TaskRunner
from onecity.sensing import cli
from onecity.sensing.events import RULE_CREATED, RuleChanged
from tests.conftest import SYSTEM


class _Worker:
    """Stands in for the MQTT loop: commits one event, then waits until something relayed it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.relayed = False

    def run(self, should_stop: Callable[[], bool]) -> None:
        with self.db.transaction() as s:
            payload = RuleChanged(
                rule_id="r1",
                name="n",
                kind="threshold",
                level="blue",
                observed_property="rainfall",
                area_code=None,
                enabled=True,
            )
            events.publish(s, RULE_CREATED, payload, principal=SYSTEM, reason="test")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not should_stop():
            with self.db.sessions() as s:
                if s.scalar(select(OutboxMessage.published_at)) is not None:
                    self.relayed = True
                    return
            time.sleep(0.05)


def test_the_worker_runs_the_platforms_relay_task(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []
    real_start = TaskRunner.start

    def start(self: TaskRunner) -> None:
        started.append([t.name for t in self.tasks])
        real_start(self)

    monkeypatch.setattr(TaskRunner, "start", start)
    worker = _Worker(db)
    asyncio.run(cli._pipeline(settings, db, worker, threading.Event()))
    assert started == [[relay.TASK_NAME]]
    assert worker.relayed
