"""MQTT ingest: observations published to Mosquitto, stored by ``onecity worker ingest``, per second.

One publisher process sends ``--messages`` QoS 1 observations, spread over ``--streams``
datastreams, to ``v1.1/Datastreams(<id>)/Observations``. Measured:

* **figures** ``<db>.stored_per_s`` — from the first publish to the moment the database holds
  every observation (polled every 0.1 s), with ``--workers`` ingest workers sharing the
  subscription; a threshold rule is enabled, so the rules run on every reading;
The broker is a Mosquitto of the run's own unless ``ONECITY_BENCH_MQTT_URL`` names one
(``bench/_sensing.py``).

* **baseline** ``bare_subscriber_per_s`` — the same publisher and broker, and a paho
  subscriber on the same shared subscription at QoS 1 that only counts (it acks
  automatically): the rate the broker and the client library give before any work;
* **ratio** ``<db>.vs_bare`` — figure / baseline (goal: ≥ 0.7; absolute goal ≥ 30,000/s).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench import _runs, _sensing
from bench._common import csv_choice, database_url, emit, log, parser, rate, ratio


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
    log(f"  bare subscriber: {got} of {count} in {t1 - t0:.2f} s")
    return rate(got, t1 - t0)


def pipeline(backend: str, streams_n: int, count: int, workers: int, url: str, republish: bool) -> dict[str, Any]:
    with database_url(backend, "ingest") as db_url:
        streams = _sensing.prepare(db_url, streams_n)
        tag = _runs.tag("bench")
        procs = [_sensing.start_worker(db_url, f"{tag}-{i}", mqtt_url=url, republish=republish) for i in range(workers)]
        try:
            pub, q = _sensing.publish_in_background(url, streams, count)
            t0, t_pub = q.get(timeout=600)
            n, t1 = _sensing.wait_stored(db_url, count, timeout=600)
            pub.join(30)
        finally:
            for i, p in enumerate(procs):
                _sensing.stop_worker(p, forget=(url, f"{tag}-{i}"))
        log(f"  {backend}: {n} of {count} stored in {t1 - t0:.2f} s (publisher done after {t_pub - t0:.2f} s)")
        return {
            "stored": n,
            "stored_per_s": rate(n, t1 - t0),
            "published_per_s": rate(count, t_pub - t0),
            "seconds": round(t1 - t0, 2),
        }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--backends", type=csv_choice(["postgresql", "sqlite"]), default=["postgresql", "sqlite"])
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--republish", action="store_true", help="also republish every stored observation to MQTT")
    args = p.parse_args()
    if args.quick:
        args.messages, args.streams, args.workers = 2000, 20, 1
    log(f"sensing_ingest: {args.messages} messages over {args.streams} streams, {args.workers} worker(s)")
    with _sensing.broker() as url:
        base = bare_subscriber(list(range(1, args.streams + 1)), args.messages, url)
        figures = {
            b: pipeline(b, args.streams, args.messages, args.workers, url, args.republish) for b in args.backends
        }
    emit(
        "sensing_ingest",
        {
            "messages": args.messages,
            "streams": args.streams,
            "workers": args.workers,
            "republish": args.republish,
            "qos": 1,
        },
        figures,
        {"bare_subscriber_per_s": base},
        {f"{b}.vs_bare": ratio(f["stored_per_s"], base) for b, f in figures.items()},
    )


if __name__ == "__main__":
    main()
