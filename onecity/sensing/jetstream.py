"""Readings on a JetStream stream: ingest that loses nothing when a worker dies for good.

Devices still publish MQTT to Mosquitto. Two pieces carry their readings from there:

* **the bridge** — one per deployment — holds a persistent MQTT session under a fixed client
  id (``onecity-bridge``), subscribes to ``v1.1/+/Observations`` (no share group), publishes
  each reading to the stream with ``Nats-Msg-Id`` = the digest of its topic and bytes, and
  acknowledges it to Mosquitto (manual PUBACK) only after JetStream stored it. Every ingest
  worker is a candidate; the one holding the bridge's lock (a PostgreSQL advisory lock, or a
  lease in ``task_leases`` on SQLite) runs it. When it dies, another worker takes the lock,
  connects under the same client id and resumes the session: what Mosquitto queued meanwhile
  and what the dead bridge had not acknowledged comes again, and the stream's duplicate window
  discards a reading published twice.
* **the workers** pull from one durable consumer with explicit acknowledgements, store a batch
  in one transaction and acknowledge its messages after the commit. A worker killed with
  readings in hand never acknowledges them; after ``ack_wait`` JetStream hands them to the
  workers still alive. A reading that comes again is stored once: its row carries the same
  dedup key (``ON CONFLICT DO NOTHING``).

Unlike a share group of persistent MQTT sessions, nothing is dealt to a member that is gone:
a worker only gets what it asks for. The stream keeps readings until they are acknowledged
(work-queue retention), whether or not any worker is running.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import nats
import paho.mqtt.client as mqtt
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StreamConfig
from nats.js.errors import NotFoundError

from onecity.core.db import Database
from onecity.core.errors import Unavailable
from onecity.core.identity.principal import Principal
from onecity.core.tasks import Leadership, claim, release
from onecity.sensing.ingest import MAX_BATCH, message_key, store_observations
from onecity.sensing.mqtt import (
    INGEST,
    OBSERVATION_TOPICS,
    IngestStats,
    connect,
    from_platform,
    new_client,
    parse_messages,
)

log = logging.getLogger(__name__)

#: The stream's default name (``--stream``); its one subject is derived from it.
READINGS_STREAM = "ONECITY_READINGS"
#: The workers' durable consumer: all workers of a deployment pull from it.
CONSUMER = "onecity-ingest"
#: The bridge's MQTT client id: fixed, so whichever worker runs the bridge resumes its session.
BRIDGE_CLIENT_ID = "onecity-bridge"
#: How long Mosquitto keeps the bridge's session while no worker runs it (a day).
BRIDGE_SESSION_EXPIRY = 86_400
#: The bridge's advisory lock key on PostgreSQL ("bridge" in ASCII), beside the tasks' leader's.
BRIDGE_LOCK_KEY = 0x627269646765
#: SQLite: the bridge's lease; a dead holder's lapses after this many seconds.
BRIDGE_LEASE_SECONDS = 5.0
#: How often a candidate looks for the bridge's lock, and the holder renews it.
BRIDGE_POLL_SECONDS = 0.5
#: How many readings the bridge has in flight to JetStream at once.
BRIDGE_WINDOW = 256
#: How long the bridge waits for JetStream to confirm a reading before publishing it again.
PUBLISH_TIMEOUT = 5.0
TOPIC_HEADER = "Onecity-Topic"


def readings_subject(stream: str) -> str:
    """The stream's one subject, named after the stream, so two streams on a server never overlap."""
    return f"sensing.readings.{stream}"


async def connect_nats(url: str) -> NatsClient:
    try:
        return await asyncio.wait_for(
            nats.connect(url, connect_timeout=2, max_reconnect_attempts=-1, allow_reconnect=True), timeout=5
        )
    except (NatsError, OSError, TimeoutError) as err:
        raise Unavailable(f"cannot reach NATS JetStream at {url}: {err}") from err


async def ensure_stream(nc: NatsClient, stream: str, *, duplicate_window: float = 600.0) -> None:
    """Create the readings stream if it is missing (work-queue retention: a reading stays until a
    worker acknowledged it; a republished one within ``duplicate_window`` s is discarded)."""
    js = nc.jetstream()
    config = StreamConfig(
        name=stream,
        subjects=[readings_subject(stream)],
        retention=RetentionPolicy.WORK_QUEUE,
        duplicate_window=duplicate_window,
    )
    try:
        await js.stream_info(stream)
    except NotFoundError:
        await js.add_stream(config)


async def delete_stream(url: str, stream: str) -> None:
    """Remove a readings stream and its consumer (tests, benchmarks, decommissioning)."""
    nc = await connect_nats(url)
    try:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


class BridgeLock:
    """Whether this process runs the deployment's bridge: PostgreSQL's advisory lock, or a lease."""

    def __init__(self, db: Database, name: str) -> None:
        self.db, self.name = db, f"sensing.bridge:{name}"
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # one lock per bridge id: a test's bridge never waits for the deployment's
        key = BRIDGE_LOCK_KEY ^ (int.from_bytes(name.encode()[:6].ljust(6, b"\0"), "big") << 8)
        self.leadership = Leadership(db, key & 0x7FFF_FFFF_FFFF_FFFF) if db.dialect == "postgresql" else None

    def poll(self) -> bool:
        if self.leadership is not None:
            return self.leadership.poll()
        try:
            return claim(self.db, self.name, self.holder, BRIDGE_LEASE_SECONDS)
        except Exception:
            log.exception("could not take or renew the bridge's lease")
            return False

    def release(self) -> None:
        if self.leadership is not None:
            self.leadership.release()
            return
        with contextlib.suppress(Exception):
            release(self.db, self.holder)


class Bridge:
    """MQTT → the readings stream, acknowledging to Mosquitto only what JetStream stored.

    The MQTT network thread only appends each message to a deque and wakes the event loop when
    it was asleep (one wake-up per burst, not one per reading). The loop publishes a burst to
    JetStream asynchronously on one context (no request/reply round trip per reading), waits for
    every PubAck of the burst, and then acknowledges the burst to Mosquitto in the order the
    messages came (MQTT's rule for PUBACKs). A reading JetStream did not take is published
    again until it is; nothing is acknowledged to Mosquitto before it is stored."""

    def __init__(self, nc: NatsClient, mqtt_url: str | None, stream: str, *, client_id: str = BRIDGE_CLIENT_ID):
        self.nc, self.mqtt_url, self.stream, self.client_id = nc, mqtt_url, stream, client_id
        self.subject = readings_subject(stream)
        self.forwarded = 0
        self._client: mqtt.Client | None = None
        self._inbox = ""
        self._acks: dict[str, asyncio.Future[None]] = {}
        self._seq = 0
        self._pending: collections.deque[mqtt.MQTTMessage] = collections.deque()
        self._wake = asyncio.Event()
        self._asleep = True  # read and written across threads; a stale value costs one spare wake-up

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        subscribed = asyncio.Event()
        client = new_client(self.client_id, manual_ack=True)

        def on_message(c: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
            self._pending.append(msg)
            if self._asleep:
                self._asleep = False
                loop.call_soon_threadsafe(self._wake.set)

        def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
            if not reason.is_failure:
                c.subscribe(OBSERVATION_TOPICS, qos=1)

        def on_subscribe(*_: Any) -> None:
            loop.call_soon_threadsafe(subscribed.set)

        client.on_message, client.on_connect, client.on_subscribe = on_message, on_connect, on_subscribe
        await asyncio.to_thread(connect, client, self.mqtt_url, session_expiry=BRIDGE_SESSION_EXPIRY)
        self._client = client
        await asyncio.wait_for(subscribed.wait(), 10)

    async def stop(self) -> None:
        """Disconnect without acknowledging what is still in hand: the session keeps it."""
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.disconnect)
            await asyncio.to_thread(client.loop_stop)
        self._pending.clear()

    def _on_ack(self, msg: Msg) -> None:
        """JetStream's answer to one publish: a PubAck, or an error (no stream, a refused message)."""
        future = self._acks.pop(msg.subject.rpartition(".")[2], None)
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == "503":
            future.set_exception(NatsError(f"no stream listens on {self.subject}"))
        elif b'"error"' in msg.data:
            future.set_exception(NatsError(msg.data.decode(errors="replace")))
        else:
            future.set_result(None)

    async def _publish(self, payload: bytes, headers: dict[str, str]) -> asyncio.Future[None]:
        """Publish one reading with a reply subject of the bridge's own; the future is its PubAck.

        nats-py's ``publish`` makes a request (a new inbox token and a timer) per message and its
        ``publish_async`` parses every PubAck into a dataclass: together most of the bridge's
        event-loop time at a few thousand readings a second. The bridge needs only "stored or not"."""
        if not self._inbox:
            self._inbox = self.nc.new_inbox()

            async def on_ack(msg: Msg) -> None:
                self._on_ack(msg)

            await self.nc.subscribe(f"{self._inbox}.*", cb=on_ack)
        self._seq += 1
        token = str(self._seq)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks[token] = future
        await self.nc.publish(self.subject, payload, reply=f"{self._inbox}.{token}", headers=headers)
        return future

    async def _store(self, batch: list[mqtt.MQTTMessage]) -> None:
        """Publish the readings of ``batch`` until JetStream has stored every one."""
        todo = [m for m in batch if not from_platform(m)]
        while todo:
            failed: list[mqtt.MQTTMessage] = []
            sent: list[tuple[mqtt.MQTTMessage, asyncio.Future[None]]] = []
            for m in todo:
                payload = bytes(m.payload)
                headers = {
                    "Nats-Msg-Id": message_key(m.topic, payload),
                    "Nats-Expected-Stream": self.stream,
                    TOPIC_HEADER: m.topic,
                }
                try:
                    sent.append((m, await self._publish(payload, headers)))
                except (NatsError, OSError) as err:
                    log.warning("JetStream did not take a reading (%s); trying again", err)
                    failed.append(m)
            if sent:
                await asyncio.wait([f for _, f in sent], timeout=PUBLISH_TIMEOUT)
            for m, f in sent:
                if not f.done():
                    f.cancel()
                    log.warning("JetStream did not confirm a reading within %s s; trying again", PUBLISH_TIMEOUT)
                    failed.append(m)
                elif (problem := f.exception()) is not None:
                    log.warning("JetStream did not store a reading (%s); trying again", problem)
                    failed.append(m)
            for token in [t for t, f in self._acks.items() if f.done()]:
                del self._acks[token]  # timed out: a late PubAck finds nothing to settle
            if failed:
                await asyncio.sleep(0.5)
            todo = failed

    async def pump(self) -> None:
        """Forward until cancelled, up to :data:`BRIDGE_WINDOW` readings at once."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._asleep = True
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(BRIDGE_WINDOW, len(self._pending)))]
                await self._store(batch)
                client = self._client
                for m in batch:
                    if client is not None and m.qos > 0:
                        client.ack(m.mid, m.qos)
                self.forwarded += len(batch)


class StreamIngestWorker:
    """Pulls readings from the stream, stores a batch, acknowledges it after the commit; and, when
    it holds the bridge's lock, runs the bridge too."""

    def __init__(
        self,
        db: Database,
        nats_url: str,
        mqtt_url: str | None,
        *,
        worker_id: str = "1",
        stream: str = READINGS_STREAM,
        consumer: str = CONSUMER,
        batch: int = 2000,
        flush_seconds: float = 0.05,
        ack_wait: float = 30.0,
        principal: Principal = INGEST,
        bridge: bool = True,
        bridge_id: str = BRIDGE_CLIENT_ID,
        on_stored: Callable[[int], None] | None = None,
        announce: Callable[[str], None] = log.info,
    ) -> None:
        """``announce`` is told when this worker starts or stops running the bridge."""
        if ack_wait <= 0:
            raise ValueError("ack_wait must be positive: it is how soon a dead worker's readings go to another")
        self.db, self.nats_url, self.mqtt_url = db, nats_url, mqtt_url
        self.stream, self.consumer, self.ack_wait = stream, consumer, ack_wait
        self.batch, self.flush_seconds = min(batch, MAX_BATCH), flush_seconds
        self.client_id = f"onecity-ingest-{worker_id}"
        self.principal, self.on_stored, self.announce = principal, on_stored, announce
        self.bridge_enabled, self.bridge_id = bridge, bridge_id
        self.stats = IngestStats()
        self.bridging = False
        self._nc: NatsClient | None = None
        self._sub: Any = None

    async def _connect(self) -> None:
        self._nc = await connect_nats(self.nats_url)
        await ensure_stream(self._nc, self.stream)
        config = ConsumerConfig(
            durable_name=self.consumer,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_deliver=-1,
            max_ack_pending=-1,
            filter_subject=readings_subject(self.stream),
        )
        self._sub = await self._nc.jetstream().pull_subscribe(
            readings_subject(self.stream), durable=self.consumer, stream=self.stream, config=config
        )

    def start(self) -> None:
        """Check that NATS and the stream are there (the run connects again in its own loop)."""

        async def probe() -> None:
            await self._connect()
            assert self._nc is not None
            await self._nc.close()

        asyncio.run(probe())

    def close(self, *, forget: bool = False) -> None:
        """Nothing to end: the stream keeps what this worker did not acknowledge."""

    def run(self, *, silence_every: float = 60.0, should_stop: Callable[[], bool] = lambda: False) -> None:
        asyncio.run(self._run(silence_every, should_stop))

    async def _run(self, silence_every: float, should_stop: Callable[[], bool]) -> None:
        from onecity.sensing import rules

        await self._connect()
        assert self._nc is not None
        bridge_task = asyncio.create_task(self._bridge(should_stop)) if self.bridge_enabled else None
        last_silence = time.monotonic()
        try:
            while not should_stop():
                try:
                    msgs = await self._sub.fetch(self.batch, timeout=max(self.flush_seconds, 0.2))
                except (NatsTimeout, TimeoutError):  # nothing came within the wait
                    msgs = []
                except NatsError as err:
                    log.warning("fetching readings failed (%s); trying again", err)
                    await asyncio.sleep(1.0)
                    continue
                if msgs:
                    await self._process(msgs)
                if time.monotonic() - last_silence >= silence_every:
                    last_silence = time.monotonic()
                    try:
                        await asyncio.to_thread(self._check_silence, rules)
                    except Exception:
                        log.exception("the silence check failed; will try again")
        finally:
            if bridge_task is not None:
                bridge_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await bridge_task
            with contextlib.suppress(Exception):
                await self._nc.close()

    def _check_silence(self, rules: Any) -> None:
        with self.db.transaction() as session:
            rules.check_silence(session, principal=self.principal)

    def _store(self, msgs: list[Msg]) -> None:
        items = [((m.headers or {}).get(TOPIC_HEADER, m.subject), m.data) for m in msgs]
        rows = parse_messages(items, self.stats)
        if not rows:
            return
        with self.db.transaction() as session:
            result = store_observations(session, rows, principal=self.principal, origin="mqtt", skip_unknown=True)
        self.stats.stored += result.stored
        self.stats.duplicates += result.duplicates
        self.stats.rejected += len(rows) - result.stored - result.duplicates
        if self.on_stored is not None:
            self.on_stored(result.stored)

    async def _process(self, msgs: list[Msg]) -> None:
        """Store one batch, then acknowledge each of its messages (never before the commit)."""
        self.stats.received += len(msgs)
        self.stats.redelivered += sum(1 for m in msgs if m.metadata.num_delivered > 1)
        try:
            await asyncio.to_thread(self._store, msgs)
        except Exception as err:
            self.stats.last_error = str(err)
            log.exception("storing a batch of %d failed; the stream will deliver it again", len(msgs))
            for m in msgs:
                with contextlib.suppress(Exception):
                    await m.nak(delay=1.0)
            return
        self.stats.batches += 1
        for m in msgs:
            try:
                await m.ack()
            except (NatsError, OSError) as err:  # NATS is away: the batch comes again, and is stored once
                log.warning("could not acknowledge a stored reading (%s); it will be delivered again", err)

    async def _bridge(self, should_stop: Callable[[], bool]) -> None:
        """Run the bridge while this process holds its lock; try for the lock meanwhile."""
        assert self._nc is not None
        lock = BridgeLock(self.db, self.bridge_id)
        bridge: Bridge | None = None
        pump: asyncio.Task[None] | None = None
        try:
            while not should_stop():
                holding = await asyncio.to_thread(lock.poll)
                if holding and bridge is None:
                    bridge = Bridge(self._nc, self.mqtt_url, self.stream, client_id=self.bridge_id)
                    try:
                        await bridge.start()
                    except (ConnectionError, OSError, TimeoutError) as err:
                        log.warning("the bridge could not reach the MQTT broker (%s); trying again", err)
                        await bridge.stop()
                        bridge = None
                    else:
                        pump = asyncio.create_task(bridge.pump(), name="bridge")
                        self.bridging = True
                        self.announce(f"ingest worker {self.client_id} bridging MQTT to the stream {self.stream}")
                elif not holding and bridge is not None:
                    self.announce(f"ingest worker {self.client_id} lost the bridge's lock; another takes over")
                    pump, bridge = await self._stop_bridge(pump, bridge)
                elif pump is not None and pump.done():
                    # a failure the forwarding did not expect: start again on a new connection, so
                    # that Mosquitto sends what was not acknowledged once more
                    log.error("the bridge stopped (%r); reconnecting", pump.exception())
                    pump, bridge = await self._stop_bridge(pump, bridge)
                await asyncio.sleep(BRIDGE_POLL_SECONDS)
        finally:
            await self._stop_bridge(pump, bridge)
            await asyncio.to_thread(lock.release)

    async def _stop_bridge(self, pump: asyncio.Task[None] | None, bridge: Bridge | None) -> tuple[None, None]:
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # its failure was logged
                await pump
        if bridge is not None:
            await bridge.stop()
        self.bridging = False
        return None, None
