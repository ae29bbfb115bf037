"""Events per second from a service's transaction to a consumer, through the outbox and the relay.

A domain event is a row written in the caller's transaction; after commit the relay reads
pending rows, publishes each to the bus with the row id as message id and marks them sent;
a durable consumer then receives it. This measures that whole path end to end, with events
published in transactions of 1 (one change, one event) and of 100 (bulk work), on the
in-process bus and on NATS JetStream, over SQLite and PostgreSQL.

The baseline publishes the same envelopes straight to the same bus with ``bus.publish`` (no
table, no relay) to the same kind of consumer in the same run, so the ratio is the price of
the outbox's guarantee (no event without its change, no change without its event). A second
baseline publishes 100 at a time concurrently, to show how much of the time is spent
waiting for JetStream's acknowledgement of each message in turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from bench import _runs
from bench._common import NATS_URL, Stopwatch, csv_choice, database_url, emit, log, parser, rate, ratio, require
from bench._common import summary_ms as summarise
from onecity.core import events, migrate
from onecity.core.bus import Bus, Delivery
from onecity.core.bus.memory import MemoryBus
from onecity.core.bus.nats import NatsBus
from onecity.core.bus.relay import OutboxRelay
from onecity.core.db import Database
from onecity.core.events import Envelope, EventType
from onecity.core.identity.principal import system_principal

NAME = "outbox_relay"
BACKENDS = ("sqlite", "postgresql")
BUSES = ("memory", "nats")
PRINCIPAL = system_principal("bench")
RECEIVE_TIMEOUT = 300.0


class CaseTouched(BaseModel):
    """A payload the size of a real case event (a few ids, a status, a division)."""

    case_id: str
    division_code: str
    status: str
    n: int


def payload(i: int) -> CaseTouched:
    return CaseTouched(case_id=str(uuid.UUID(int=i)), division_code="310104003000", status="dispatched", n=i)


class Receiver:
    """A durable consumer that counts deliveries of one event type and how late each arrived."""

    def __init__(self, expected: int) -> None:
        self.expected, self.count = expected, 0
        self.lags: list[float] = []
        self.done = asyncio.Event()

    async def handle(self, delivery: Delivery) -> None:
        occurred = json.loads(delivery.data)["occurred_at"]
        self.lags.append((datetime.now(UTC) - datetime.fromisoformat(occurred)).total_seconds())
        self.count += 1
        if self.count >= self.expected:
            self.done.set()

    async def wait(self, what: str) -> None:
        try:
            await asyncio.wait_for(self.done.wait(), RECEIVE_TIMEOUT)
        except TimeoutError as err:
            raise RuntimeError(
                f"{what}: received {self.count} of {self.expected} events in {RECEIVE_TIMEOUT:.0f} s"
            ) from err


_run_counter = 0


def fresh_event_type() -> EventType[CaseTouched]:
    """A new subject (and so a new durable consumer) per run: runs never see each other's events."""
    global _run_counter
    _run_counter += 1
    return events.event_type(f"bench.run{_run_counter}.touched", CaseTouched)


def publish_in_transactions(db: Database, et: EventType[CaseTouched], count: int, per_tx: int) -> None:
    """What a service does: each transaction writes its events to the outbox and commits."""
    for start in range(0, count, per_tx):
        with db.transaction() as session:
            for i in range(start, min(count, start + per_tx)):
                events.publish(session, et, payload(i), principal=PRINCIPAL, reason="bench")


async def through_outbox(db: Database, bus: Bus, count: int, per_tx: int) -> dict[str, Any]:
    """Publish ``count`` events in transactions of ``per_tx`` while the relay runs; time to last receipt."""
    et = fresh_event_type()
    receiver = Receiver(count)
    sub = await bus.subscribe(et.subject, f"bench_{et.name.replace('.', '_')}", receiver.handle)
    relay = OutboxRelay(db, bus, poll_seconds=0.05)
    relay_task = asyncio.create_task(relay.run(), name="bench-relay")
    try:
        t0 = time.perf_counter()
        await asyncio.to_thread(publish_in_transactions, db, et, count, per_tx)
        committed = time.perf_counter() - t0
        await receiver.wait(f"outbox tx{per_tx}")
        total = time.perf_counter() - t0
    finally:
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
        await sub.stop()
    return {
        "events_per_s": rate(count, total),
        "commit_events_per_s": rate(count, committed),
        "lag": summarise(receiver.lags),
    }


async def raw(bus: Bus, count: int, window: int) -> dict[str, Any]:
    """The same envelopes straight to ``bus.publish``, ``window`` in flight at a time; time to last receipt."""
    et = fresh_event_type()
    receiver = Receiver(count)
    sub = await bus.subscribe(et.subject, f"bench_{et.name.replace('.', '_')}", receiver.handle)

    def envelope(i: int) -> tuple[str, bytes]:
        msg_id = str(uuid.uuid4())
        env = Envelope(
            id=msg_id,
            type=et.name,
            occurred_at=datetime.now(UTC).isoformat(),
            actor=PRINCIPAL.ref,
            reason="bench",
            payload=payload(i).model_dump(mode="json"),
        )
        return msg_id, env.to_bytes()

    try:
        with Stopwatch() as sw:
            for start in range(0, count, window):
                batch = [envelope(i) for i in range(start, min(count, start + window))]
                await asyncio.gather(*(bus.publish(et.subject, data, msg_id) for msg_id, data in batch))
            await receiver.wait(f"raw window {window}")
    finally:
        await sub.stop()
    return {"events_per_s": rate(count, sw.seconds), "lag": summarise(receiver.lags)}


async def with_bus(kind: str, work: Callable[[Bus], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Run ``work`` on a connected bus; a NATS bus gets its own namespace and stream, deleted after."""
    if kind == "memory":
        bus: Bus = MemoryBus()
        await bus.connect()
        try:
            return await work(bus)
        finally:
            await bus.close()
    tag = secrets.token_hex(4)
    # the pid in the name lets a later run delete this stream if this one is killed before its finally
    await asyncio.to_thread(_runs.sweep_streams, NATS_URL)
    nats_bus = NatsBus(NATS_URL, namespace=f"bench{tag}", stream=f"BENCH_{os.getpid()}_{tag.upper()}")
    await nats_bus.connect()
    try:
        return await work(nats_bus)
    finally:
        await nats_bus.delete_stream()
        await nats_bus.close()


async def bench_pair(backend: str, bus_kind: str, sizes: dict[str, int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Figures (outbox) and baseline (raw publish) for one database and one bus."""
    with database_url(backend, "outbox") as url:
        db = Database(url)
        try:
            await asyncio.to_thread(migrate.upgrade, db)

            async def work(bus: Bus) -> dict[str, Any]:
                out: dict[str, Any] = {}
                for per_tx, count in ((1, sizes["tx1"]), (100, sizes["tx100"])):
                    out[f"tx{per_tx}"] = await through_outbox(db, bus, count, per_tx)
                    log(
                        f"  {backend}/{bus_kind} outbox tx{per_tx}: {out[f'tx{per_tx}']['events_per_s']:,.0f} "
                        f"events/s end to end ({out[f'tx{per_tx}']['commit_events_per_s']:,.0f}/s committed)"
                    )
                for window in (1, 100):
                    out[f"raw_window{window}"] = await raw(bus, sizes["raw"], window)
                    log(
                        f"  {backend}/{bus_kind} raw publish, {window} in flight: "
                        f"{out[f'raw_window{window}']['events_per_s']:,.0f} events/s"
                    )
                return out

            out = await with_bus(bus_kind, work)
        finally:
            db.dispose()
    figures = {k: out[k] for k in ("tx1", "tx100")}
    baseline = {k: out[k] for k in ("raw_window1", "raw_window100")}
    return figures, baseline


async def run(args: Any, sizes: dict[str, int]) -> None:
    if "nats" in args.buses:
        require("NATS", NATS_URL, 4222, "leave it out with --buses memory")
    figures: dict[str, Any] = {}
    baseline: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    for backend in args.backends:
        for bus_kind in args.buses:
            key = f"{backend}/{bus_kind}"
            log(f"{NAME}: {key}")
            f, b = await bench_pair(backend, bus_kind, sizes)
            figures[key], baseline[key] = f, b
            base = b["raw_window1"]["events_per_s"]
            ratios[key] = {f"tx{n}_vs_raw_window1": ratio(f[f"tx{n}"]["events_per_s"], base) for n in (1, 100)}
    emit(NAME, {"backends": args.backends, "buses": args.buses, **sizes}, figures, baseline, ratios)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--backends", type=csv_choice(BACKENDS), default=list(BACKENDS))
    p.add_argument("--buses", type=csv_choice(BUSES), default=list(BUSES))
    args = p.parse_args()
    sizes = {"tx1": 200, "tx100": 1000, "raw": 1000} if args.quick else {"tx1": 2000, "tx100": 20000, "raw": 20000}
    asyncio.run(run(args, sizes))


if __name__ == "__main__":
    main()
