"""Publish-to-alert latency: a reading over a threshold, until its alert reaches an MQTT subscriber.

An ingest worker runs with republishing on and a threshold rule (raise ≥ 5, clear < 4).
For ``--events`` times, a device publishes a reading of 9 to a stream (then, later, a 1 to
clear it again); a subscriber on ``onecity/v1/alerts`` receives the ``raised`` alert. The
path measured is the whole loop: broker → worker batch → database commit (the readings and
their batch's outbox row) → outbox relay → the rules consumer (rule state, alert, its outbox
row) → relay → the alert consumer → broker → subscriber. ``--load`` adds that many background
readings per second on other streams, under the rule's line (a city's readings are mostly
normal); ``--storm`` lets them cross it too, as this benchmark's background did before
2026-12-05 (some 900 alerts, audit entries and urban-operations cases a second).

figures: ``p50_ms``, ``p99_ms``, ``max_ms`` (goal: p99 < 1,000 ms), ``alerts`` received; the
worker's own counters (``worker_stored``: did it keep up with the load), its CPU seconds after
start-up and per stored reading (``worker_cpu_ms_per_reading``: what the machine's load moves
least), and the load average when the run ended (``uptime``).
baseline: the broker's own round trip (publish → the same process's subscriber) p50/p99.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from bench import _runs, _sensing
from bench._common import csv_choice, database_url, emit, log, parser, percentile


def broker_rtt(url: str, n: int) -> dict[str, float]:
    from onecity.sensing import mqtt

    got: dict[str, float] = {}
    ev = threading.Event()
    c = mqtt.new_client(f"bench-rtt-{uuid.uuid4().hex[:6]}")

    def received(cl: Any, u: Any, m: Any) -> None:
        got[m.payload.decode()] = time.perf_counter()
        ev.set()

    c.on_message = received
    mqtt.connect(c, url)
    topic = f"bench/rtt/{uuid.uuid4().hex[:6]}"
    c.subscribe(topic, qos=1)
    time.sleep(0.3)
    lat = []
    for i in range(n):
        ev.clear()
        t = time.perf_counter()
        c.publish(topic, str(i), qos=1)
        ev.wait(5)
        if str(i) in got:
            lat.append(got[str(i)] - t)
    c.disconnect()
    c.loop_stop()
    s = sorted(lat)
    return {"p50_ms": round(percentile(s, 50) * 1000, 2), "p99_ms": round(percentile(s, 99) * 1000, 2)}


def thing_of_streams(db_url: str) -> dict[int, int]:
    from sqlalchemy import select

    from onecity.core.db import Database
    from onecity.sensing.models import Datastream

    db = Database(db_url)
    with db.sessions() as s:
        out = {int(r[0]): int(r[1]) for r in s.execute(select(Datastream.id, Datastream.thing_id))}
    db.dispose()
    return out


def run(backend: str, args: Any, url: str) -> dict[str, Any]:
    from onecity.sensing import mqtt

    with database_url(backend, "latency") as db_url:
        streams = _sensing.prepare(db_url, args.events + (50 if args.load else 0), rule_above=None)
        from onecity.core.db import Database
        from onecity.core.identity.principal import system_principal
        from onecity.sensing import service

        db = Database(db_url)
        with db.transaction() as s:
            service.create_rule(
                s,
                system_principal("bench"),
                name="bench alert",
                kind="threshold",
                level="red",
                observed_property="water_level",
                params={"above": 5.0, "clear_below": 4.0},
            )
        db.dispose()
        things = thing_of_streams(db_url)
        alert_streams, load_streams = streams[: args.events], streams[args.events :]
        sent: dict[str, float] = {}
        received: dict[str, float] = {}
        sub = mqtt.new_client(f"bench-alerts-{uuid.uuid4().hex[:6]}")

        def on_alert(c: Any, u: Any, m: Any) -> None:
            body = json.loads(m.payload)
            if body.get("event") == "raised" and body.get("thing_id") is not None:
                received.setdefault(body["thing_id"], time.perf_counter())

        sub.on_message = on_alert
        mqtt.connect(sub, url)
        sub.subscribe(mqtt.ALERT_TOPIC, qos=1)
        wid = _runs.tag("latency")
        worker = _sensing.start_worker(db_url, wid, mqtt_url=url, republish=True, warm=not args.quick)
        cpu_at_start = _sensing.cpu_seconds(worker.pid)  # start-up (imports, the point index) is not ingest
        background = None
        t_background = time.perf_counter()
        if args.load:
            background, _ = _sensing.publish_in_background(
                url,
                load_streams,
                int(args.load * args.seconds_load),
                rate=args.load,
                start_seq=10_000_000,
                top=9.7 if args.storm else 3.9,
            )
        dev = mqtt.new_client(f"bench-device-{uuid.uuid4().hex[:6]}")
        mqtt.connect(dev, url)
        try:
            time.sleep(1.0)
            for i, ds in enumerate(alert_streams):
                key = str(things[ds])
                sent[key] = time.perf_counter()
                dev.publish(mqtt.observation_topic(ds), _sensing.payload(i, 9.0), qos=1)
                time.sleep(args.interval)
            deadline = time.perf_counter() + 30
            while len(received) < len(sent) and time.perf_counter() < deadline:
                time.sleep(0.05)
            cpu = _sensing.cpu_seconds(worker.pid) - cpu_at_start
            window = time.perf_counter() - t_background
        finally:
            _sensing.stop_worker(worker, forget=(url, wid))
            if background is not None:
                background.terminate()
            for c in (dev, sub):
                c.disconnect()
                c.loop_stop()
        report = _sensing.worker_report(worker)
        lat = sorted(received[k] - sent[k] for k in sent if k in received)
        log(f"  {backend}: {len(lat)} of {len(sent)} alerts received; worker {report}")
        return {
            "alerts": len(lat),
            "events": len(sent),
            "p50_ms": round(percentile(lat, 50) * 1000, 1),
            "p99_ms": round(percentile(lat, 99) * 1000, 1),
            "max_ms": round(lat[-1] * 1000, 1) if lat else None,
            "background_load_per_s": args.load,
            # what the worker stored a second while the alerts were measured: on a loaded machine the
            # publisher process may not get ``--load`` out, and this says what the figures were taken under
            "stored_per_s_during": round(report.get("stored", 0) / window) if report.get("stored") else None,
            # whether the worker kept up: what it stored of what it was sent, and the CPU it took
            "worker_stored": report.get("stored"),
            "worker_echoes": report.get("echoes"),
            "worker_batches": report.get("batches"),
            "worker_cpu_s": round(cpu, 1),
            # the figure the machine's load moves least: the worker's CPU per reading it stored
            "worker_cpu_ms_per_reading": round(cpu * 1000 / report["stored"], 3) if report.get("stored") else None,
            "uptime": _sensing.load_average(),
        }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--backends", type=csv_choice(["postgresql", "sqlite"]), default=["postgresql", "sqlite"])
    p.add_argument("--events", type=int, default=300)
    p.add_argument("--interval", type=float, default=0.05, help="seconds between alerting readings")
    p.add_argument("--load", type=float, default=2000.0, help="background readings per second (0: none)")
    p.add_argument(
        "--storm",
        action="store_true",
        help="background readings that cross the rule's line too (about 900 alerts and cases a second), "
        "as this benchmark did before 2026-12-05; by default they stay under it",
    )
    args = p.parse_args()
    if args.quick:
        args.events, args.load = 20, 0.0
    args.seconds_load = args.events * args.interval + 10
    with _sensing.broker() as url:
        base = broker_rtt(url, 200 if not args.quick else 20)
        figures = {b: run(b, args, url) for b in args.backends}
    emit(
        "sensing_alert_latency",
        {"events": args.events, "interval_s": args.interval, "load_per_s": args.load, "storm": args.storm},
        figures,
        {"broker_round_trip": base},
        {
            f"{b}.p99_vs_broker_p99": round(f["p99_ms"] / base["p99_ms"], 1) if base["p99_ms"] else None
            for b, f in figures.items()
        },
    )


if __name__ == "__main__":
    main()
