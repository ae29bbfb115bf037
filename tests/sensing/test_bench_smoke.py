"""The sensing benchmarks still run, at ``--quick`` size, each printing its one JSON line; and what
an earlier run left on a broker cannot take their readings (issue 20)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench._runs import orphanless
from onecity.sensing import mqtt
from tests.conftest import MQTT_URL, need_service
from tests.test_bench_smoke import REPO, run_bench


@pytest.fixture(autouse=True)
def _services(mqtt_url: str) -> None:
    need_service("PostgreSQL", "127.0.0.1", 5432)


def _bench_env() -> dict[str, str]:
    """A broker named for the whole test run is the benchmarks' too; else they start their own."""
    return {"ONECITY_BENCH_MQTT_URL": MQTT_URL} if MQTT_URL else {}


def test_mqtt_ingest() -> None:
    result = run_bench("sensing_ingest", "--backends", "sqlite", timeout=120, env=_bench_env())
    assert result["figures"]["sqlite"]["stored"] == result["params"]["messages"]
    assert result["baseline"]["bare_subscriber_per_s"] > 0


def test_data_array() -> None:
    result = run_bench("sensing_data_array", "--backends", "sqlite", timeout=120)
    assert result["figures"]["sqlite"]["stored"] == result["params"]["observations"]


def test_single_observation_post() -> None:
    result = run_bench("sensing_post", "--backends", "postgresql", timeout=180)
    post = result["figures"]["postgresql"]["post"]
    assert post["requests"] > 0 and post["non_2xx"] == 0 and post["stored"] >= post["requests"]
    assert result["ratio"]["postgresql.post_vs_bare"] > 0


def test_alert_latency() -> None:
    result = run_bench("sensing_alert_latency", "--backends", "postgresql", timeout=120, env=_bench_env())
    assert result["figures"]["postgresql"]["alerts"] == result["params"]["events"]


def test_fault_run() -> None:
    result = run_bench("sensing_fault", "--backends", "postgresql", timeout=180)
    figures = result["figures"]["postgresql"]
    assert figures["missing"] == 0 and figures["duplicates"] == 0 and figures["kills"] == 1


# -- a worker killed without ending its session ---------------------------------------------------


@pytest.fixture
def killed_worker(mqtt_url: str, sqlite_template: Path, tmp_path: Path) -> Iterator[Any]:
    """``start(*options)`` runs ``onecity worker ingest`` in the production share group, waits
    until it subscribed, and kills it with SIGKILL — as a crash or a killed test run would — so
    its persistent session stays on the broker; returns the worker id. Teardown ends the
    sessions, so that later tests on this broker do not queue readings for them."""
    started: list[str] = []

    def start(*options: str) -> str:
        worker_id = f"dead-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        db = tmp_path / f"{worker_id}.db"
        shutil.copy(sqlite_template, db)
        env = dict(
            os.environ, ONECITY_ENV="development", ONECITY_DATABASE_URL=f"sqlite:///{db}", ONECITY_MQTT_URL=mqtt_url
        )
        cmd = [
            sys.executable,
            "-m",
            "onecity",
            "worker",
            "ingest",
            "--via",
            "mqtt",
            "--id",
            worker_id,
            "--no-warm",
            "--no-republish",
        ]
        proc = subprocess.Popen(
            orphanless([*cmd, *options]), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        started.append(worker_id)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode()
            assert "subscribed" in line, f"the worker did not start: {line!r}"
        finally:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        return worker_id

    yield start
    for worker_id in started:
        mqtt.forget_session(mqtt_url, f"onecity-ingest-{worker_id}")


def share_of_a_new_member(url: str, group: str, n: int = 20) -> int:
    """How many of ``n`` readings published now a new member of share group ``group`` receives."""
    got: list[bytes | bytearray] = []
    subscribed = threading.Event()
    member = mqtt.new_client(f"member-{uuid.uuid4().hex[:8]}")
    member.on_message = lambda c, u, m: got.append(m.payload)
    member.on_subscribe = lambda *_: subscribed.set()
    mqtt.connect(member, url)
    publisher = mqtt.new_client(f"device-{uuid.uuid4().hex[:8]}")
    try:
        member.subscribe(f"$share/{group}/{mqtt.OBSERVATION_TOPICS}", qos=1)
        assert subscribed.wait(10)
        mqtt.connect(publisher, url)
        for i in range(n):
            publisher.publish(mqtt.observation_topic(1), f'{{"result": {i}}}', qos=1).wait_for_publish(5)
        time.sleep(1.0)
        return len(got)
    finally:
        for c in (publisher, member):
            c.disconnect()
            c.loop_stop()


def test_a_dead_worker_of_the_production_group_takes_nothing_from_the_ingest_benchmark(
    mqtt_url: str, killed_worker: Any
) -> None:
    """Issue 20: workers killed in earlier runs stayed members of ``onecity-ingest`` on the broker,
    which kept dealing them their share, and the ingest benchmark waited for readings it never saw.
    The benchmark's workers now join a share group of the run's own."""
    killed_worker()
    # the trap is set: the broker still deals the dead member (half of) the production group's readings
    assert share_of_a_new_member(mqtt_url, mqtt.SHARE_GROUP) < 20
    result = run_bench("sensing_ingest", "--backends", "sqlite", timeout=120, env={"ONECITY_BENCH_MQTT_URL": mqtt_url})
    assert result["figures"]["sqlite"]["stored"] == result["params"]["messages"]


def test_a_dead_workers_share_ends_with_its_session_expiry(mqtt_url: str, killed_worker: Any) -> None:
    """A worker that never comes back stops taking readings of the production group once its
    session expires: ``--session-expiry`` bounds what a dead member can take (ten minutes by default)."""
    killed_worker("--session-expiry", "2")
    time.sleep(3.5)
    assert share_of_a_new_member(mqtt_url, mqtt.SHARE_GROUP) == 20
