"""MQTT ingest: observations published to Mosquitto, stored by ``onecity worker ingest``, per second.

One publisher process sends ``--messages`` QoS 1 observations, spread over ``--streams``
datastreams, to ``v1.1/Datastreams(<id>)/Observations``. Measured:

* **figures** ``<db>.stored_per_s`` — from the first publish to the moment the database holds
  every observation (polled every 0.1 s), with ``--workers`` ingest workers sharing the
  subscription; a threshold rule is enabled, so the rules run on every reading;
The broker is a Mosquitto of the run's own unless ``ONECITY_BENCH_MQTT_URL`` names one
(``bench/_sensing.py``).

``--via stream`` (or ``both``): the workers pull from a JetStream stream of the run's own, fed by
the deployment's one bridge (one of the workers runs it), instead of sharing an MQTT
subscription; figures ``<db>.stream.stored_per_s`` and ratio ``<db>.stream.vs_bare``.

* **baseline** ``bare_subscriber_per_s`` — the same publisher and broker, and a paho
  subscriber on the same shared subscription at QoS 1 that only counts (it acks
  automatically): the rate the broker and the client library give before any work;
* **ratio** ``<db>.vs_bare`` — figure / baseline (goal: ≥ 0.7; absolute goal ≥ 30,000/s).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from bench import _runs, _sensing
from bench._common import csv_choice, database_url, emit, log, parser, rate, ratio
from bench.api_http import cpu_seconds


def bare_subscriber(streams: list[int], count: int, url: str) -> float:
    from onecity.sensing import mqtt

    got = 0
    first: list[float] = []
    done = threading.Event()

    def on_message(c: Any, u: Any, m: Any) -> None:
        nonlocal got
        if not first:
            first.append(time.perf_counter())
        got += 1
        if got >= count:
            done.set()

    group = _runs.tag("bench-bare")
    sub = mqtt.new_client(group)
    sub.on_message = on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_: subscribed.set()
    mqtt.connect(sub, url)
    sub.subscribe(f"$share/{group}/{mqtt.OBSERVATION_TOPICS}", qos=1)
    subscribed.wait(10)
    proc, q = _sensing.publish_in_background(url, streams, count)
    t0, _ = q.get(timeout=600)
    done.wait(600)
    t1 = time.perf_counter()
    proc.join(30)
    sub.disconnect()
    sub.loop_stop()
    log(f"  bare subscriber: {got} of {count} in {t1 - t0:.2f} s (load average {_sensing.load_average()})")
    return rate(got, t1 - t0)


def pipeline(
    backend: str, streams_n: int, count: int, workers: int, url: str, republish: bool, via: str = "mqtt"
) -> dict[str, Any]:
    """Publish ``count`` readings and time until the database holds them all (``via``: the
    workers' shared MQTT subscription, or a JetStream stream fed by the bridge)."""
    import asyncio
    import secrets

    from bench._common import NATS_URL
    from onecity.sensing import jetstream

    with database_url(backend, "ingest") as db_url:
        streams = _sensing.prepare(db_url, streams_n)
        tag = _runs.tag("bench")
        stream = f"BENCH_{os.getpid()}_{secrets.token_hex(4).upper()}" if via == "stream" else None
        how = (NATS_URL, stream, _runs.tag("bridge")) if stream is not None else None
        procs: list[Any] = []
        try:
            for i in range(workers):
                procs.append(_sensing.start_worker(db_url, f"{tag}-{i}", mqtt_url=url, republish=republish, stream=how))
                if how is not None and i == 0:
                    # the first worker takes the bridge: its MQTT session exists from then on
                    out = procs[0].stdout
                    if out is None or "bridging" not in (line := out.readline().decode()):
                        raise RuntimeError(f"the first worker did not take the bridge: {line!r}")
            cpu0 = sum(cpu_seconds(p.pid) for p in procs)
            pub, q = _sensing.publish_in_background(url, streams, count)
            t0, t_pub = q.get(timeout=600)
            n, t1 = _sensing.wait_stored(db_url, count, timeout=600)
            cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0
            pub.join(30)
        finally:
            for i, p in enumerate(procs):
                _sensing.stop_worker(p, forget=(url, f"{tag}-{i}") if stream is None else None)
            if stream is not None:
                asyncio.run(jetstream.delete_stream(NATS_URL, stream))
        log(
            f"  {backend} via {via}: {n} of {count} stored in {t1 - t0:.2f} s "
            f"(publisher done after {t_pub - t0:.2f} s; "
            f"workers' CPU {cpu:.1f} s)"
        )
        return {
            "stored": n,
            "stored_per_s": rate(n, t1 - t0),
            "published_per_s": rate(count, t_pub - t0),
            "seconds": round(t1 - t0, 2),
            # the workers' own CPU (bridge included) per stored reading: steadier than a rate on a busy machine
            "worker_cpu_s": round(cpu, 2),
            "worker_cpu_us_per_reading": round(cpu / max(n, 1) * 1e6, 1),
            "uptime": _sensing.load_average(),
        }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--backends", type=csv_choice(["postgresql", "sqlite"]), default=["postgresql", "sqlite"])
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--republish", action="store_true", help="also republish every stored observation to MQTT")
    p.add_argument(
        "--via",
        choices=["mqtt", "stream", "both"],
        default="mqtt",
        help="mqtt: workers share an MQTT subscription; stream: they pull from JetStream behind the bridge",
    )
    args = p.parse_args()
    if args.quick:
        args.messages, args.streams, args.workers = 2000, 20, 1
    log(f"sensing_ingest: {args.messages} messages over {args.streams} streams, {args.workers} worker(s)")
    with _sensing.broker() as url:
        base = bare_subscriber(list(range(1, args.streams + 1)), args.messages, url)
        figures: dict[str, Any] = {}
        for b in args.backends:
            if args.via in ("mqtt", "both"):
                figures[b] = pipeline(b, args.streams, args.messages, args.workers, url, args.republish)
            if args.via in ("stream", "both"):
                figures[f"{b}.stream"] = pipeline(
                    b, args.streams, args.messages, args.workers, url, args.republish, via="stream"
                )
    emit(
        "sensing_ingest",
        {
            "messages": args.messages,
            "streams": args.streams,
            "workers": args.workers,
            "republish": args.republish,
            "via": args.via,
            "qos": 1,
        },
        figures,
        {"bare_subscriber_per_s": base},
        {f"{b}.vs_bare": ratio(f["stored_per_s"], base) for b, f in figures.items()},
    )


if __name__ == "__main__":
    main()
