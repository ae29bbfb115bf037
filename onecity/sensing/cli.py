"""Commands: ``onecity worker ingest`` (MQTT → database, rules, alerts) and ``onecity sensing …``.

The ingest worker is a whole pipeline in one process: the MQTT ingest loop (a thread doing
batched, acknowledged-after-commit writes), the platform's outbox relay task (the one the
server runs, through the same :class:`~onecity.core.tasks.TaskRunner`: woken by this
process's commits, stopped promptly; not a relay of its own), and the platform's consumers
(which republish stored observations and alerts to MQTT subscribers and, in urban
operations, open cases for alerts). Run several with different ``--id`` to split the load;
restart one with the same ``--id`` to resume its MQTT session.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import signal
import sys
import threading
from typing import Any

from onecity.core.config import Settings
from onecity.core.db import Database


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def _pipeline(settings: Settings, db: Database, worker: Any, stop: threading.Event) -> None:
    from onecity.core import parts
    from onecity.core.bus import connect_bus, consumers
    from onecity.core.bus.relay import TASK_NAME
    from onecity.core.tasks import TaskContext, TaskRunner

    bus = connect_bus(settings.bus_url, stream=settings.bus_stream)
    await bus.connect()
    # the platform's relay task, as the server runs it; the server's other tasks stay with the server
    runner = TaskRunner(TaskContext(db, settings, bus), [t for t in parts.tasks() if t.name == TASK_NAME])
    runner.start()
    subscriptions = await consumers.subscribe_all(db, bus)
    ingest = asyncio.create_task(asyncio.to_thread(worker.run, should_stop=stop.is_set), name="ingest")
    try:
        await ingest
    finally:
        for s in subscriptions:
            await s.stop()
        await runner.stop()
        await bus.close()


def cmd_worker_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.sensing.jetstream import StreamIngestWorker
    from onecity.sensing.mqtt import REPUBLISHER, IngestWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = args.mqtt or settings.mqtt_url or "mqtt://127.0.0.1:1883"
    db_url = args.database or settings.database_url
    # the ingest loop, the relay and every consumer each hold a connection at once; SQLite's
    # default pool of 4 lets consumers waiting for the single writer starve the one holding it
    db = Database(db_url, pool_size=16) if db_url.startswith("sqlite") else Database(db_url)
    REPUBLISHER.configure(None if args.no_republish else url)
    if not args.no_warm:
        # the hub's point index is built once per process (seconds); build it before the first
        # alert needs it (urban operations places its case with it) rather than on the alert path
        from onecity.hub.geography.index import warm

        warm(db)
    nats_url = args.nats or (settings.bus_url if settings.bus_url.startswith("nats://") else None)
    via = args.via or ("stream" if nats_url else "mqtt")
    worker: IngestWorker | StreamIngestWorker
    if via == "stream":
        if nats_url is None:
            raise SystemExit("--via stream needs NATS JetStream: give --nats nats://host:4222 or set ONECITY_BUS_URL")
        worker = StreamIngestWorker(
            db,
            nats_url,
            url,
            worker_id=args.id,
            stream=args.stream,
            batch=args.batch,
            flush_seconds=args.flush_ms / 1000,
            ack_wait=args.ack_wait,
            bridge=not args.no_bridge,
            bridge_id=args.bridge_id,
            announce=_out,
        )
    else:
        worker = IngestWorker(
            db,
            url,
            worker_id=args.id,
            batch=args.batch,
            flush_seconds=args.flush_ms / 1000,
            group=args.group,
            session_expiry=args.session_expiry,
        )
    # every part's consumers are imported before the worker subscribes and says so (services' pull
    # in the OCR stack: tens of seconds on a loaded machine), not after, while readings pile up unread
    from onecity.core.bus import consumers

    consumers.registered()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # what start-up built (modules, the point index, models) lives as long as the process: take it
    # out of the collector's sight, or each full collection walks it all again (0.2 s, measured, a
    # collection; under load they came every few batches, bench/README.md)
    gc.freeze()
    worker.start()
    source = f"the stream {args.stream} on {nats_url}" if via == "stream" else url
    _out(f"ingest worker {worker.client_id} subscribed to {source} (batch {args.batch})")
    try:
        asyncio.run(_pipeline(settings, db, worker, stop))
    finally:
        worker.close()
        _out(
            json.dumps(
                {"worker": worker.client_id, **{k: v for k, v in vars(worker.stats).items() if k != "latencies_ms"}}
            )
        )
        db.dispose()
    return 0


def cmd_check_silence(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.core.commands import opened
    from onecity.sensing import rules
    from onecity.sensing.mqtt import INGEST

    with opened(settings) as db, db.transaction() as session:
        raised = rules.check_silence(session, principal=INGEST)
    _out(json.dumps({"alerts_raised": len(raised)}))
    return 0


def cmd_forget_worker(args: argparse.Namespace, settings: Settings) -> int:
    from onecity.sensing.mqtt import forget_session

    forget_session(args.mqtt or settings.mqtt_url, f"onecity-ingest-{args.id}")
    _out(f"the broker forgot the session of ingest worker {args.id}")
    return 0


def _subparsers_of(parser: argparse.ArgumentParser) -> Any:
    for action in parser._actions:  # argparse keeps no public handle on a parser's subcommands
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest="worker_command", required=True)


def _positive_seconds(value: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of seconds, 1 or more")
    return seconds


def add_commands(sub: Any) -> None:
    from onecity.sensing.jetstream import BRIDGE_CLIENT_ID, READINGS_STREAM
    from onecity.sensing.mqtt import DEFAULT_SESSION_EXPIRY, SHARE_GROUP

    worker_parser = sub.choices.get("worker") or sub.add_parser("worker", help="background workers")
    workers = _subparsers_of(worker_parser)
    w = workers.add_parser("ingest", help="store observations published over MQTT; run stream rules")
    w.add_argument("--id", default="1", help="worker id: the MQTT session to resume (default 1)")
    w.add_argument("--mqtt", help="broker URL (default ONECITY_MQTT_URL, else mqtt://127.0.0.1:1883)")
    w.add_argument(
        "--via",
        choices=["stream", "mqtt"],
        help="stream: pull readings from a NATS JetStream stream, bridged from MQTT (lossless when a "
        "worker dies; the default when NATS is configured); mqtt: join the broker's share group directly "
        "(one machine, no NATS)",
    )
    w.add_argument("--nats", help="NATS URL of the readings stream (default ONECITY_BUS_URL when it is nats://)")
    w.add_argument("--stream", default=READINGS_STREAM, help=f"the readings stream (default {READINGS_STREAM})")
    w.add_argument(
        "--ack-wait",
        type=_positive_seconds,
        default=30,
        help="seconds before readings a worker took and never acknowledged (it died) go to another (default 30)",
    )
    w.add_argument(
        "--bridge-id",
        default=BRIDGE_CLIENT_ID,
        help=f"MQTT client id of the deployment's one bridge, which any worker may run (default {BRIDGE_CLIENT_ID})",
    )
    w.add_argument("--no-bridge", action="store_true", help="never run the MQTT → stream bridge in this worker")
    w.add_argument("--database", help="database URL (default ONECITY_DATABASE_URL)")
    w.add_argument(
        "--group",
        default=SHARE_GROUP,
        help=f"the MQTT share group whose members split the load (default {SHARE_GROUP})",
    )
    w.add_argument(
        "--session-expiry",
        type=_positive_seconds,
        default=DEFAULT_SESSION_EXPIRY,
        help="seconds the broker keeps this worker's session, and deals it readings, after it is gone "
        f"(default {DEFAULT_SESSION_EXPIRY}: a restart within it loses nothing)",
    )
    w.add_argument("--batch", type=int, default=2000, help="largest batch written at once")
    w.add_argument("--flush-ms", type=float, default=50.0, help="longest wait to fill a batch")
    w.add_argument("--no-republish", action="store_true", help="do not republish stored observations to MQTT")
    w.add_argument("--no-warm", action="store_true", help="skip building the city's point index at start-up")
    w.set_defaults(func=cmd_worker_ingest)
    s = sub.add_parser("sensing", help="sensing: rules and devices").add_subparsers(
        dest="sensing_command", required=True
    )
    s.add_parser("check-silence", help="mark silent devices unavailable and alert").set_defaults(func=cmd_check_silence)
    f = s.add_parser(
        "forget-worker",
        help="retire an ingest worker: end its MQTT session, so that the "
        "shared subscription stops queueing its share of messages",
    )
    f.add_argument("id")
    f.add_argument("--mqtt", help="broker URL (default ONECITY_MQTT_URL)")
    f.set_defaults(func=cmd_forget_worker)
