"""What a killed run leaves on the shared servers is swept by the next run, and only that (issue 20)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from bench import _runs
from onecity.core.db import Database
from tests.conftest import PG_ADMIN_URL, need_service


def dead_pid() -> int:
    """The id of a process that has just ended (not reused that soon)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(proc.stdout)
    assert not _runs.pid_alive(pid)
    return pid


def test_only_names_of_dead_runs_are_leftovers() -> None:
    dead, alive = dead_pid(), os.getppid()
    names = [
        f"onecity_test_{dead}",
        f"onecity_test_{alive}",
        f"onecity_test_{os.getpid()}",  # this run's own
        f"onecity_bench_ingest_{dead}_0a1b2c3d",
        f"onecity_svc_tpl_{dead}",
        f"onecity_svc_{dead}_0a1b2c",
        f"onecity_test_reg_{dead}_0a1b2c",
        "onecity_bench_ingest_12345678",  # the old form: its number is random, not a pid
        "onecity",
        f"onecity_test_{dead}_extra",
    ]
    assert _runs.dead_leftovers(names, _runs.PG_LEFTOVER) == [
        f"onecity_test_{dead}",
        f"onecity_bench_ingest_{dead}_0a1b2c3d",
        f"onecity_svc_tpl_{dead}",
        f"onecity_svc_{dead}_0a1b2c",
        f"onecity_test_reg_{dead}_0a1b2c",
    ]
    streams = [f"TEST_{dead}_0A1B2C3D", f"BENCH_{dead}_0A1B2C3D", f"TEST_{alive}_0A1B2C3D", "ONECITY", "TEST_0a1b2c3d"]
    assert _runs.dead_leftovers(streams, _runs.STREAM_LEFTOVER) == streams[:2]


@pytest.mark.postgres
def test_the_database_of_a_killed_run_is_dropped_and_a_live_runs_kept() -> None:
    need_service("PostgreSQL", "127.0.0.1", 5432)
    dead, alive = f"onecity_test_{dead_pid()}", f"onecity_test_{os.getppid()}"
    admin = Database(PG_ADMIN_URL)
    existed = True
    try:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            existed = bool(conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": alive}))
            for name in (dead, alive) if not existed else (dead,):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        assert dead in _runs.sweep_postgres(PG_ADMIN_URL)
        with admin.engine.connect() as conn:
            left = set(
                conn.scalars(text("SELECT datname FROM pg_database WHERE datname IN (:a, :b)"), {"a": dead, "b": alive})
            )
        assert left == {alive}
    finally:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dead}"'))
            if not existed:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{alive}"'))
        admin.dispose()


@pytest.mark.nats
def test_the_stream_of_a_killed_run_is_deleted_with_its_consumers(nats_url: str) -> None:
    import nats
    from nats.js.api import ConsumerConfig, StreamConfig
    from nats.js.errors import NotFoundError

    dead = f"TEST_{dead_pid()}_0A1B2C"
    alive = f"TEST_{os.getpid()}_0A1B2C"

    async def scenario() -> tuple[list[str], set[str]]:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        try:
            for name in (dead, alive):
                await js.add_stream(StreamConfig(name=name, subjects=[f"{name.lower()}.>"]))
                await js.add_consumer(name, ConsumerConfig(durable_name="workers"))
            swept = await asyncio.to_thread(_runs.sweep_streams, nats_url)
            left = {s.config.name for s in await js.streams_info() if s.config.name in (dead, alive)}
            return swept, left
        finally:
            for name in (dead, alive):
                with contextlib.suppress(NotFoundError):  # already swept
                    await js.delete_stream(name)
            await nc.close()

    swept, left = asyncio.run(scenario())
    assert dead in swept and left == {alive}
