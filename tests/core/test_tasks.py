"""A periodic task runs in one process of a deployment at a time, and moves on when that process stops or dies."""

from __future__ import annotations

import asyncio
import sys
import time
import types
from datetime import UTC, datetime

from onecity.core import clock
from onecity.core.bus.memory import MemoryBus
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.parts import PeriodicTask
from onecity.core.tasks import TaskContext, TaskRunner, claim, release


def test_a_lease_is_held_by_one_holder_until_it_lapses_or_is_given_back(db: Database) -> None:
    with clock.frozen(datetime(2026, 3, 1, 9, 0, tzinfo=UTC)) as advance:
        assert claim(db, "ops.clocks", "a", 90)
        assert not claim(db, "ops.clocks", "b", 90)  # a's lease is live
        advance(60)
        assert claim(db, "ops.clocks", "a", 90)  # a renews it each round
        advance(60)
        assert not claim(db, "ops.clocks", "b", 90)  # still live: renewed 60 s ago
        advance(31)
        assert claim(db, "ops.clocks", "b", 90)  # a died: its lease lapsed, b takes over
        assert not claim(db, "ops.clocks", "a", 90)
        assert claim(db, "housekeeping", "a", 90)  # each task its own lease
        release(db, "b")
        assert claim(db, "ops.clocks", "a", 90)  # b stopped and gave it back: no wait


def test_two_servers_on_one_database_run_a_task_once(db: Database, settings: Settings) -> None:
    ran: list[str] = []
    module = types.ModuleType("tests_core_counted_task")
    module.tick = lambda ctx: ran.append(ctx.settings.env.value)  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    task = PeriodicTask("counted", f"{module.__name__}:tick", every_seconds=0.05)

    async def scenario() -> tuple[int, int, int]:
        first = TaskRunner(TaskContext(db, settings, MemoryBus()), [task])
        second = TaskRunner(TaskContext(db, settings, MemoryBus()), [task])
        first.start()
        await asyncio.sleep(0.3)
        second.start()
        await asyncio.sleep(0.5)
        both = (first.rounds["counted"], second.rounds["counted"])
        await first.stop()  # gives its lease back: the second server carries on at once
        began = time.monotonic()
        while second.rounds["counted"] == 0 and time.monotonic() - began < 5:
            await asyncio.sleep(0.02)
        taken_over = second.rounds["counted"]
        await second.stop()
        return both[0], both[1], taken_over

    try:
        first_rounds, second_rounds, taken_over = asyncio.run(scenario())
    finally:
        del sys.modules[module.__name__]
    assert first_rounds >= 3 and second_rounds == 0
    assert taken_over >= 1
    assert len(ran) >= first_rounds + taken_over  # every round counted ran, in one server or the other
