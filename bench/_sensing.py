"""What the sensing benchmarks share: a broker, a prepared database, a publisher process, workers.

The publisher runs in its own process (a Python MQTT client is CPU-bound; in the measuring
process it would steal the CPU it measures), publishes QoS 1 with a wide in-flight window
and reports when it finished. Workers are real ``onecity worker ingest`` processes.

A benchmark runs on a Mosquitto of its own (``bench/_runs.py``) unless ``ONECITY_BENCH_MQTT_URL``
names one: then its workers still join a share group of this run's own (``RUN_GROUP``), with a
short session expiry, so that neither a worker an earlier run left on that broker (the
production group's dead members included) nor one of this run's takes readings from another run.
Topics cannot be made private on a shared broker: two runs at once on one broker still see
each other's readings, so leave the variable unset to measure while others work.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import _runs
from bench._common import log, require

REPO = Path(__file__).resolve().parent.parent
#: A broker to measure (shared with whoever else uses it); unset, each run starts its own.
MQTT_URL = os.environ.get("ONECITY_BENCH_MQTT_URL")
#: The share group of this run's workers, and the session expiry they ask for: a worker this
#: run leaves behind (it was killed) stops being dealt readings within a minute.
RUN_GROUP = _runs.tag("bench")
SESSION_EXPIRY = 60
T0 = datetime(2026, 7, 1, tzinfo=UTC)


@contextmanager
def broker() -> Iterator[str]:
    """The broker URL to run on: ``ONECITY_BENCH_MQTT_URL``, else a Mosquitto of this run's own."""
    if MQTT_URL:
        require("Mosquitto", MQTT_URL, 1883, "unset ONECITY_BENCH_MQTT_URL to run on a broker of the benchmark's own")
        yield MQTT_URL
        return
    if _runs.mosquitto_path() is None:
        log("Mosquitto is not installed (apt-get install mosquitto), or set ONECITY_BENCH_MQTT_URL")
        raise SystemExit(2)
    with _runs.private_mosquitto() as url:
        yield url


def prepare(url: str, streams: int, *, rule_above: float | None = 1e9) -> list[int]:
    """Migrate ``url`` and create ``streams`` stations (one Thing and Datastream each) and a rule."""
    from onecity.core import migrate
    from onecity.core.db import Database
    from onecity.core.identity.principal import system_principal
    from onecity.sensing import service
    from onecity.sensing.sta.service import Writer

    system = system_principal("bench")
    db = Database(url)
    migrate.upgrade(db)
    ids: list[int] = []
    with db.transaction() as s:
        w = Writer(s, system)
        sensor = w.create("Sensors", {"name": "s", "description": "s", "encodingType": "text/html", "metadata": "m"}).id
        prop = w.create("ObservedProperties", {"name": "water_level", "definition": "d", "description": "d"}).id
        for i in range(streams):
            lon, lat = 121.3 + (i % 40) * 0.008, 31.1 + (i // 40 % 40) * 0.006
            w.create(
                "Things",
                {
                    "name": f"bench {i}",
                    "description": "bench",
                    "Locations": [
                        {
                            "name": "site",
                            "description": "d",
                            "encodingType": "application/geo+json",
                            "location": {"type": "Point", "coordinates": [lon, lat]},
                        }
                    ],
                    "Datastreams": [
                        {
                            "name": f"bench {i}",
                            "description": "d",
                            "observationType": "OM_Measurement",
                            "unitOfMeasurement": {"name": "m", "symbol": "m", "definition": "m"},
                            "Sensor": {"@iot.id": sensor},
                            "ObservedProperty": {"@iot.id": prop},
                        }
                    ],
                },
            )
        ids = [i for es, i in w.created if es == "Datastreams"]
        if rule_above is not None:
            service.create_rule(
                s,
                system,
                name="bench high water",
                kind="threshold",
                level="orange",
                observed_property="water_level",
                params={"above": rule_above},
            )
    db.dispose()
    return ids


def payload(seq: int, value: float) -> bytes:
    t = T0 + timedelta(milliseconds=seq)
    return json.dumps({"phenomenonTime": t.isoformat().replace("+00:00", "Z"), "result": value}).encode()


def _publish(
    url: str, streams: list[int], count: int, rate: float | None, start_seq: int, done: Any, top: float
) -> None:
    from onecity.sensing import mqtt

    _runs.die_with_parent()  # a benchmark killed mid-run takes its publisher with it
    c = mqtt.new_client(_runs.tag("bench-pub"))
    c.max_inflight_messages_set(2000)
    c.max_queued_messages_set(0)
    mqtt.connect(c, url)
    t0 = time.perf_counter()
    infos: deque[Any] = deque()
    n = len(streams)
    for k in range(count):
        seq = start_seq + k
        while len(infos) >= 20_000:  # message ids are 16 bits: never have 65,535 outstanding
            infos.popleft().wait_for_publish(120)
        infos.append(c.publish(mqtt.observation_topic(streams[seq % n]), payload(seq, top * (seq % 97) / 97), qos=1))
        if rate and k % 100 == 0:
            ahead = t0 + k / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
    for info in infos:
        info.wait_for_publish(120)
    done.put((t0, time.perf_counter()))
    c.disconnect()
    c.loop_stop()


def publish_in_background(
    url: str, streams: list[int], count: int, *, rate: float | None = None, start_seq: int = 0, top: float = 9.7
) -> tuple[Any, Any]:
    """Start a publisher process (spawned: its own interpreter); ``queue.get()`` returns (start, end)
    perf_counter times. The readings run from 0 up to ``top``, saw-toothed (the benchmarks' rules watch
    water levels above 5)."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_publish, args=(url, streams, count, rate, start_seq, q, top), daemon=True)
    p.start()
    return p, q


def start_worker(
    db_url: str,
    worker_id: str,
    *,
    mqtt_url: str,
    republish: bool = False,
    batch: int = 2000,
    warm: bool = False,
    stream: tuple[str, str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A real ``onecity worker ingest`` in this run's share group, stopped by Linux if the benchmark
    dies; ``warm`` builds the city's point index first (only alerts need it). ``stream`` =
    (NATS URL, stream, bridge id): pull from that JetStream stream instead (``--via stream``),
    with a 5 s ack wait; the call returns once the worker is subscribed, not once it bridges."""
    env = dict(
        os.environ,
        ONECITY_ENV="development",
        ONECITY_DATABASE_URL=db_url,
        ONECITY_MQTT_URL=mqtt_url,
        ONECITY_OUTBOX_POLL_SECONDS="0.2",
    )
    cmd = (
        [
            sys.executable,
            "-m",
            "onecity",
            "worker",
            "ingest",
            "--id",
            worker_id,
            "--mqtt",
            mqtt_url,
            "--batch",
            str(batch),
        ]
        + (
            ["--via", "mqtt", "--group", RUN_GROUP, "--session-expiry", str(SESSION_EXPIRY)]
            if stream is None
            else ["--via", "stream", "--nats", stream[0], "--stream", stream[1], "--bridge-id", stream[2]]
            + ["--ack-wait", "5"]
        )
        + ([] if republish else ["--no-republish"])
        + ([] if warm else ["--no-warm"])
    )
    proc = subprocess.Popen(_runs.orphanless(cmd), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()  # "ingest worker … subscribed" once it is connected
    if "subscribed" not in line:
        raise RuntimeError(f"worker {worker_id} did not start: {line!r}")
    return proc


def stop_worker(proc: subprocess.Popen[bytes], *, kill: bool = False, forget: tuple[str, str] | None = None) -> None:
    """Stop a worker (SIGKILL: as a crash would); ``forget=(broker URL, worker id)`` also ends its
    MQTT session, so the broker stops dealing it readings at once rather than at its expiry."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if forget is not None:
        from onecity.sensing.mqtt import forget_session

        try:
            forget_session(forget[0], f"onecity-ingest-{forget[1]}")
        except (ConnectionError, OSError) as err:  # the broker is gone too: so is the session
            log(f"  could not end the session of worker {forget[1]}: {err}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``): the figure that holds on a
    shared machine, where wall-clock time depends on what else runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages (``uptime``), to print beside a figure."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def worker_report(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    """The counters a stopped worker printed as its last line (received, stored, echoes, batches…)."""
    assert proc.stdout is not None
    lines = [line for line in proc.stdout.read().decode().splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def stored(db_url: str) -> int:
    from sqlalchemy import func, select

    from onecity.core.db import Database
    from onecity.sensing.models import Observation

    db = Database(db_url)
    try:
        with db.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(Observation)) or 0)
    finally:
        db.dispose()


def wait_stored(db_url: str, target: int, timeout: float, poll: float = 0.1) -> tuple[int, float]:
    """Poll until ``target`` rows are stored; returns (count, perf_counter when reached or gave up)."""
    from sqlalchemy import func, select

    from onecity.core.db import Database
    from onecity.sensing.models import Observation

    db = Database(db_url)
    deadline = time.perf_counter() + timeout
    n = 0
    try:
        while time.perf_counter() < deadline:
            with db.sessions() as s:
                n = int(s.scalar(select(func.count()).select_from(Observation)) or 0)
            if n >= target:
                return n, time.perf_counter()
            time.sleep(poll)
        log(f"  gave up waiting: {n} of {target} stored")
        return n, time.perf_counter()
    finally:
        db.dispose()
