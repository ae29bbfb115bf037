"""Ingest through the JetStream readings stream loses nothing when a worker dies for good.

Real processes throughout: Mosquitto (this run's), NATS JetStream (a stream of this test's own,
deleted at the end, and by the next run's sweep if this one is killed first), and ``onecity
worker ingest --via stream`` subprocesses that a test kills with SIGKILL and never restarts.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import func, select, text

from bench import _sensing
from bench._runs import orphanless
from onecity.core.db import Database
from onecity.sensing import jetstream, mqtt
from onecity.sensing.models import Observation
from tests.grids import truncate_all_but_geography
from tests.test_bench_smoke import REPO

pytestmark = pytest.mark.nats


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database, fresh for the test: the readings need no grids (the package's own
    ``db`` loads them, which takes minutes on a busy machine). On PostgreSQL the grids the package's
    other tests share are kept: a full truncation would take them from every later test."""
    if backend == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "onecity.db")
        database = Database(f"sqlite:///{tmp_path / 'onecity.db'}")
    else:
        database = Database(request.getfixturevalue("pg_url"))
        truncate_all_but_geography(database)
    yield database
    database.dispose()


@pytest.fixture
def stream(nats_url: str) -> Iterator[str]:
    """A readings stream of this test's own (the pid in its name lets the next run sweep it)."""
    name = f"TEST_{os.getpid()}_{uuid.uuid4().hex[:8].upper()}"
    try:
        yield name
    finally:
        asyncio.run(jetstream.delete_stream(nats_url, name))


def start(db: Database, nats_url: str, mqtt_url: str, stream: str, bridge_id: str, wid: str) -> subprocess.Popen[str]:
    env = dict(os.environ, ONECITY_ENV="development", ONECITY_DATABASE_URL=db.url, ONECITY_BUS_URL="memory://")
    cmd = [sys.executable, "-m", "onecity", "worker", "ingest", "--via", "stream", "--id", wid]
    cmd += ["--nats", nats_url, "--mqtt", mqtt_url, "--stream", stream, "--bridge-id", bridge_id]
    cmd += ["--ack-wait", "2", "--no-warm", "--no-republish"]
    proc = subprocess.Popen(
        orphanless(cmd), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "subscribed" in line, f"worker {wid} did not start: {line!r}"
    return proc


def wait_bridging(proc: subprocess.Popen[str]) -> None:
    """Until the worker says it runs the bridge (its MQTT session exists from then on)."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "bridging" in line, f"the worker did not take the bridge: {line!r}"


def publish(url: str, streams: list[int], first: int, count: int) -> None:
    """QoS 1 readings ``first`` … ``first+count-1``, each with its own phenomenon time, all acknowledged."""
    c = mqtt.new_client(f"device-{uuid.uuid4().hex[:8]}")
    mqtt.connect(c, url)
    try:
        infos = [
            c.publish(mqtt.observation_topic(streams[k % len(streams)]), _sensing.payload(k, float(k % 7)), qos=1)
            for k in range(first, first + count)
        ]
        for info in infos:
            info.wait_for_publish(30)
            assert info.is_published()
    finally:
        c.disconnect()
        c.loop_stop()


def counts(db: Database) -> tuple[int, int]:
    """(rows, distinct (datastream, phenomenon time)) of the observations."""
    with db.sessions() as s:
        rows = s.scalar(select(func.count()).select_from(Observation)) or 0
        distinct = (
            s.scalar(
                select(func.count()).select_from(
                    select(Observation.datastream_id, Observation.phenomenon_time).distinct().subquery()
                )
            )
            or 0
        )
    return int(rows), int(distinct)


def wait_for(predicate: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        time.sleep(0.1)


def ack_pending(nats_url: str, stream: str) -> int:
    async def info() -> int:
        nc = await nats.connect(nats_url)
        try:
            return int((await nc.jetstream().consumer_info(stream, jetstream.CONSUMER)).num_ack_pending)
        finally:
            await nc.close()

    return asyncio.run(info())


@contextmanager
def writes_held(db: Database) -> Iterator[None]:
    """Hold the database so that a worker's batch waits in its transaction, unacknowledged: the
    datastreams' rows locked on PostgreSQL (the ingest locks them), the writer's lock on SQLite."""
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(text("SELECT id FROM sta_datastreams FOR UPDATE"))
            yield
            conn.rollback()
    else:
        raw = sqlite3.connect(db.url.removeprefix("sqlite:///"), timeout=30)
        try:
            raw.execute("BEGIN IMMEDIATE")
            yield
            raw.rollback()
        finally:
            raw.close()


def test_a_worker_killed_for_good_loses_nothing_and_stores_nothing_twice(
    db: Database, nats_url: str, mqtt_url: str, stream: str
) -> None:
    """Worker A runs the bridge and takes a batch; the database keeps the batch waiting, and A is
    killed with SIGKILL holding it, never to return. Worker B, started after, takes over the bridge
    (resuming its MQTT session: readings published while no bridge ran arrive too) and gets A's
    unacknowledged readings once their ack wait passed. Every reading is stored exactly once."""
    streams = _sensing.prepare(db.url, 5, rule_above=None)
    bridge_id = f"test-bridge-{uuid.uuid4().hex[:8]}"
    procs: list[subprocess.Popen[str]] = []
    try:
        a = start(db, nats_url, mqtt_url, stream, bridge_id, "a")
        procs.append(a)
        wait_bridging(a)
        publish(mqtt_url, streams, 0, 100)
        wait_for(lambda: counts(db)[0] == 100, "worker A stored the first 100 readings")
        with writes_held(db):
            publish(mqtt_url, streams, 100, 200)
            wait_for(lambda: ack_pending(nats_url, stream) > 0, "worker A holds readings it has not acknowledged")
            a.send_signal(signal.SIGKILL)
            a.wait(30)
            publish(mqtt_url, streams, 300, 100)  # no bridge runs now: Mosquitto keeps them for its session
            b = start(db, nats_url, mqtt_url, stream, bridge_id, "b")
            procs.append(b)
        wait_bridging(b)  # it resumes the bridge's session: readings 300-399 come now
        publish(mqtt_url, streams, 400, 100)
        wait_for(lambda: counts(db)[1] >= 500, "worker B stored every reading", timeout=90)
        time.sleep(2.5)  # past one more ack wait: a late redelivery would show as a second row
        b.send_signal(signal.SIGTERM)
        out, _ = b.communicate(timeout=30)
        stats = json.loads(out.strip().splitlines()[-1])
        assert counts(db) == (500, 500)
        assert stats["redelivered"] > 0, stats  # A's unacknowledged readings came to B
        assert stats["stored"] == 400, stats
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            if p.stdout is not None:
                p.stdout.close()
        mqtt.forget_session(mqtt_url, bridge_id)
