"""A periodic task runs in one process of a deployment at a time, and moves on when that process stops or dies."""

from __future__ import annotations

import asyncio
import sys
import time
import types
from datetime import UTC, datetime
from pathlib import Path

import pytest

from onecity.core import clock
from onecity.core.bus.memory import MemoryBus
from onecity.core.config import Settings
from onecity.core.db import Database, is_busy
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
    vars(module)["tick"] = lambda ctx: ran.append(ctx.settings.env.value)
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


def test_a_busy_database_is_a_line_not_a_traceback(
    db: Database, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite's writer held past the busy timeout (the demo's simulation once did) is said in one
    warning and tried again next round; any other failure keeps its traceback."""
    import sqlite3

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    path = f"{tmp_path}/busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    impatient = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    try:
        with impatient.connect() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            conn.commit()
    except OperationalError as err:
        locked = err
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        impatient.dispose()
    assert is_busy(locked) and not is_busy(ValueError("database is locked"))

    module = types.ModuleType("tests_core_busy_task")
    calls: list[int] = []

    def round_(ctx: TaskContext) -> None:
        calls.append(1)
        raise locked if len(calls) == 1 else RuntimeError("a real failure")

    vars(module)["tick"] = round_
    sys.modules[module.__name__] = module

    async def scenario() -> None:
        runner = TaskRunner(
            TaskContext(db, settings, MemoryBus()),
            [PeriodicTask("busy", f"{module.__name__}:tick", every_seconds=0.05)],
        )
        runner.start()
        began = time.monotonic()
        while len(calls) < 2 and time.monotonic() - began < 5:
            await asyncio.sleep(0.02)
        await runner.stop()

    try:
        with caplog.at_level("WARNING", logger="onecity.core.tasks"):
            asyncio.run(scenario())
    finally:
        del sys.modules[module.__name__]
    busy = [r for r in caplog.records if "busy" in r.getMessage()]
    failed = [r for r in caplog.records if "failed" in r.getMessage()]
    assert busy and busy[0].levelname == "WARNING" and busy[0].exc_info is None
    assert failed and failed[0].exc_info is not None


LEADER_SCRIPT = """
import asyncio, sys
from onecity.core.bus.memory import MemoryBus
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.parts import PeriodicTask
from onecity.core.tasks import TaskContext, TaskRunner

def tick(ctx):
    with open(sys.argv[2], "a") as f:
        f.write(sys.argv[3] + "\\n")

async def main():
    db = Database(sys.argv[1])
    task = PeriodicTask("marked", "__main__:tick", every_seconds=0.05)
    runner = TaskRunner(TaskContext(db, Settings(), MemoryBus()), [task])
    runner.start()
    await asyncio.sleep(120)

asyncio.run(main())
"""


def test_two_processes_run_a_task_once_and_the_survivor_takes_over_from_a_killed_leader(
    pg_url: str, tmp_path: Path
) -> None:
    """PostgreSQL's advisory-lock leader: one of two processes runs the task; SIGKILL it and the
    other runs it within a second or two (a lease would have taken a minute to lapse)."""
    import os
    import signal
    import subprocess

    marks = tmp_path / "marks"
    marks.touch()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "ONECITY_ENV": "test"}
    procs = [
        subprocess.Popen([sys.executable, "-c", LEADER_SCRIPT, pg_url, str(marks), name], env=env)
        for name in ("a", "b")
    ]
    try:

        def ran() -> list[str]:
            return marks.read_text().split()

        deadline = time.monotonic() + 30
        while len(ran()) < 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        first = set(ran())
        assert len(first) == 1, f"both processes ran the task: {first}"
        leader = {"a": procs[0], "b": procs[1]}[first.pop()]
        leader.send_signal(signal.SIGKILL)
        leader.wait()
        killed_at, before = time.monotonic(), len(ran())
        while len(set(ran()[before:])) == 0 and time.monotonic() - killed_at < 15:
            time.sleep(0.05)
        took = time.monotonic() - killed_at
        assert set(ran()[before:]) - {"a", "b"} == set() and ran()[before:], "nobody took over"
        survivor = [p for p in procs if p is not leader][0]
        assert ran()[-1] == ("a" if survivor is procs[0] else "b")
        assert took < 5, f"the survivor took {took:.1f} s to take over"
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
            p.wait()
