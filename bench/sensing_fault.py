"""The fault run: kill the ingest worker again and again mid-stream; nothing lost, nothing twice.

A broker of its own (Mosquitto on a free port, in memory, no per-session queue limit: the
stock ``max_queued_messages 1000`` would drop QoS 1 messages queued for a worker that is
down, which is a broker setting to change in production, not something a worker can fix).
One publisher sends ``--messages`` QoS 1 observations at ``--rate`` per second, each with its
own phenomenon time; meanwhile the ingest worker is killed with SIGKILL at a random moment
up to ``--every`` seconds after it committed a batch, ``--kills`` times, and restarted with
the same id (so it resumes its MQTT session).
Then the run waits until the database holds every observation, or gives up.

``--via stream``: the readings go through a JetStream stream of the run's own (the bridge and
``--kills`` + 1 workers pulling with acknowledgements), and each killed worker **never comes
back**: the survivors must get its unacknowledged readings (after the 5 s ack wait) and the
bridge, if it ran it.

figures: ``sent``, ``stored`` (rows), ``distinct`` (distinct stream and time),
``duplicates`` = stored − distinct, ``missing`` = sent − distinct, ``kills``. Goal:
``missing == 0`` and ``duplicates == 0``. The baseline is the same run with no kill:
``recovery_seconds`` is the extra time the kills cost.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from bench import _runs, _sensing
from bench._common import csv_choice, database_url, emit, log, parser


def counts(db_url: str) -> tuple[int, int]:
    from sqlalchemy import distinct, func, select, tuple_

    from onecity.core.db import Database
    from onecity.sensing.models import Observation

    db = Database(db_url)
    try:
        with db.sessions() as s:
            rows = s.scalar(select(func.count()).select_from(Observation)) or 0
            if db.dialect == "sqlite":
                uniq = (
                    s.scalar(
                        select(func.count()).select_from(
                            select(Observation.datastream_id, Observation.phenomenon_time).distinct().subquery()
                        )
                    )
                    or 0
                )
            else:
                uniq = (
                    s.scalar(
                        select(func.count(distinct(tuple_(Observation.datastream_id, Observation.phenomenon_time))))
                    )
                    or 0
                )
            return int(rows), int(uniq)
    finally:
        db.dispose()


def run_for_good(backend: str, args: Any, kills: int) -> dict[str, Any]:
    """``--via stream``: ``kills`` of ``kills + 1`` workers SIGKILLed mid-stream, none restarted."""
    import asyncio
    import secrets

    from bench._common import NATS_URL
    from onecity.sensing import jetstream

    stream = f"BENCH_{os.getpid()}_{secrets.token_hex(4).upper()}"
    with _runs.private_mosquitto() as url, database_url(backend, "fault") as db_url:
        streams = _sensing.prepare(db_url, args.streams)
        how = (NATS_URL, stream, _runs.tag("bridge"))
        workers = [_sensing.start_worker(db_url, _runs.tag("fault"), mqtt_url=url, stream=how)]
        try:
            first = workers[0].stdout
            assert first is not None
            # the first worker takes the bridge: its MQTT session exists from then on
            if "bridging" not in (line := first.readline().decode()):
                raise RuntimeError(f"the first worker did not take the bridge: {line!r}")
            for _ in range(kills):
                workers.append(_sensing.start_worker(db_url, _runs.tag("fault"), mqtt_url=url, stream=how))
            t0 = time.perf_counter()
            pub, q = _sensing.publish_in_background(url, streams, args.messages, rate=args.rate)
            done = 0
            while done < kills and pub.exitcode is None:
                before = _sensing.stored(db_url)
                while _sensing.stored(db_url) == before and pub.exitcode is None:
                    time.sleep(0.1)
                time.sleep(args.every * random.random())
                _sensing.stop_worker(workers[done], kill=True)  # the bridge's holder first: it never returns
                done += 1
                log(f"  killed worker {done}/{kills} for good with {_sensing.stored(db_url)} stored")
            q.get(timeout=600)
            pub.join(30)
            _, t1 = _sensing.wait_stored(db_url, args.messages, timeout=args.timeout)
        finally:
            for w in workers:
                _sensing.stop_worker(w)
            asyncio.run(jetstream.delete_stream(NATS_URL, stream))
        rows, uniq = counts(db_url)
        log(f"  {backend}: {done} killed for good; sent {args.messages}, stored {rows}, distinct {uniq}")
        return {
            "sent": args.messages,
            "stored": rows,
            "distinct": uniq,
            "duplicates": rows - uniq,
            "missing": args.messages - uniq,
            "kills": done,
            "seconds": round(t1 - t0, 2),
        }


def run(backend: str, args: Any, kills: int) -> dict[str, Any]:
    if args.via == "stream":
        return run_for_good(backend, args, kills)
    with _runs.private_mosquitto() as url, database_url(backend, "fault") as db_url:
        streams = _sensing.prepare(db_url, args.streams)
        wid = _runs.tag("fault")
        worker = _sensing.start_worker(db_url, wid, mqtt_url=url)
        t0 = time.perf_counter()
        pub, q = _sensing.publish_in_background(url, streams, args.messages, rate=args.rate)
        done = 0
        try:
            while done < kills:
                # kill mid-stream: only once this worker has committed something, a random moment later
                before = _sensing.stored(db_url)
                while _sensing.stored(db_url) == before and pub.exitcode is None:
                    time.sleep(0.1)
                time.sleep(args.every * random.random())
                if pub.exitcode is not None:
                    break
                _sensing.stop_worker(worker, kill=True)
                done += 1
                log(f"  killed the worker ({done}/{kills}) with {_sensing.stored(db_url)} stored")
                time.sleep(0.3)
                worker = _sensing.start_worker(db_url, wid, mqtt_url=url)
            q.get(timeout=600)
            pub.join(30)
            n, t1 = _sensing.wait_stored(db_url, args.messages, timeout=args.timeout)
        finally:
            _sensing.stop_worker(worker)
        rows, uniq = counts(db_url)
        log(f"  {backend}: {kills} kills planned, {done} done; sent {args.messages}, stored {rows}, distinct {uniq}")
        return {
            "sent": args.messages,
            "stored": rows,
            "distinct": uniq,
            "duplicates": rows - uniq,
            "missing": args.messages - uniq,
            "kills": done,
            "seconds": round(t1 - t0, 2),
        }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--backends", type=csv_choice(["postgresql", "sqlite"]), default=["postgresql"])
    p.add_argument("--messages", type=int, default=60_000)
    p.add_argument("--rate", type=float, default=2000.0)
    p.add_argument("--streams", type=int, default=200)
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--every", type=float, default=2.0, help="longest wait after a commit before a kill")
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument(
        "--via",
        choices=["mqtt", "stream"],
        default="mqtt",
        help="mqtt: one worker killed and restarted; stream: workers on a JetStream stream killed for good",
    )
    args = p.parse_args()
    if args.quick:
        args.messages, args.rate, args.streams, args.kills, args.every = 3000, 1000.0, 10, 1, 1.0
    figures = {b: run(b, args, args.kills) for b in args.backends}
    baseline = {b: run(b, args, 0) for b in args.backends}
    emit(
        "sensing_fault",
        {"messages": args.messages, "rate": args.rate, "kills": args.kills, "every_s": args.every, "via": args.via},
        figures,
        baseline,
        {f"{b}.recovery_seconds": round(figures[b]["seconds"] - baseline[b]["seconds"], 2) for b in figures},
    )


if __name__ == "__main__":
    main()
