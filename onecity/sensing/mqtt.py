"""MQTT: devices publish observations, the ingest worker stores them, subscribers get them back.

Library: **paho-mqtt 2.x**. It is the reference Python client of the Eclipse project that
also ships Mosquitto, speaks MQTT 5 (session expiry, receive maximum, user properties) and,
since 2.0, lets the application acknowledge QoS 1 messages itself (``manual_ack=True``):
the worker sends PUBACK only after the database committed the batch, which is what makes a
worker killed at any moment lose nothing. aiomqtt wraps paho and adds an asyncio layer the
worker does not need (its hot loop is a thread doing batched database writes).

Topics (OGC 18-088 §14.2): a device publishes an Observation to
``v1.1/Datastreams(<id>)/Observations`` (§14.2.4, create by MQTT), and subscribers of that
topic receive each observation created in that Datastream (§14.2.2). One topic serves both, so
the subscribers and the ingest workers receive whatever is published there:

* a device's publish reaches every subscriber through the broker already, as the device sent
  it. The platform does not publish it again (:data:`DEVICE_ORIGIN` batches are not
  republished). It did until 2026-12-05, as FROST-Server does; subscribers then got each such
  reading twice (raw and with ``@iot.id``: FROST-Server issues #6 and #128, a known question of
  the standard, opengeospatial/sensorthings#5), and the ingest workers got every reading they
  had stored back — 17,764 "echoes" in a 35 s run of the alert benchmark, about half of a worker's
  CPU with the republishing. A subscriber wanting a device reading's ``@iot.id`` reads it from
  the API.
* observations created another way (HTTP, dataArray, the traffic feed, the simulator) are
  published in full (``@iot.id``, ``@iot.selfLink``) with the MQTT 5 user property
  ``onecity-origin=platform``. They still reach the ingest workers (MQTT 5 forbids No Local on
  a shared subscription, and no broker filters by property); :class:`ReadingClient` finds the
  mark on the wire, before decoding anything else, and the worker acknowledges them unstored.

MQTT 3.1.1 subscribers see the observation JSON as the standard describes.

The ingest worker (``onecity worker ingest``) subscribes with QoS 1 to
``$share/onecity-ingest/v1.1/+/Observations``: the broker hands each message to one member
of the group, so several workers split the load. Its MQTT session is persistent (fixed client
id, clean start off): messages that arrive while it is down, and the ones it received but never
acknowledged, are delivered again when it reconnects; the ``(datastream, digest of the
message)`` key makes the second copy a no-op.

The price of a persistent session: the broker keeps dealing a member its share while it is
offline (Mosquitto does not skip offline members of a share group). A worker restarted within
the session expiry gets that share; one that never comes back takes it with it. The expiry is
therefore bounded — ten minutes by default (``--session-expiry``) — after which the broker
drops the session and its queue and the live members get every message again; a worker
retired for good should say so at once (``onecity sensing forget-worker <id>``). That is the
one-machine mode (``--via mqtt``); with NATS, workers pull the readings from a JetStream stream
instead (:mod:`onecity.sensing.jetstream`), which loses nothing to a dead member by design.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.errors import DomainError
from onecity.core.identity.principal import Principal, system_principal
from onecity.sensing.ingest import MAX_BATCH, NewObservation, message_key, parse_observation, store_observations

log = logging.getLogger(__name__)

DEFAULT_URL = "mqtt://127.0.0.1:1883"
SHARE_GROUP = "onecity-ingest"
#: How long the broker keeps an ingest worker's session (and keeps dealing it readings) once it
#: is gone: long enough for a restart, short enough that a dead member's share is bounded.
DEFAULT_SESSION_EXPIRY = 600
OBSERVATION_TOPICS = "v1.1/+/Observations"
ALERT_TOPIC = "onecity/v1/alerts"
ORIGIN_PROPERTY = ("onecity-origin", "platform")
#: The ``origin`` of batches a device published over MQTT (directly or through the JetStream bridge):
#: the platform does not republish them, the broker delivered them to subscribers already.
DEVICE_ORIGIN = "mqtt"
_DS_TOPIC = re.compile(r"^v1\.1/Datastreams\((\d{1,18})\)/Observations$")
INGEST = system_principal("sensing:ingest")


def broker_address(url: str | None) -> tuple[str, int]:
    """(host, port) of ``ONECITY_MQTT_URL`` (``mqtt://host:port``; unset: the local broker)."""
    parsed = urlparse(url or DEFAULT_URL)
    if parsed.scheme not in {"mqtt", "tcp"}:
        raise ValueError(f"ONECITY_MQTT_URL {url!r} must look like mqtt://host:1883")
    return parsed.hostname or "127.0.0.1", parsed.port or 1883


def observation_topic(datastream_id: int) -> str:
    return f"v1.1/Datastreams({datastream_id})/Observations"


def platform_properties() -> Properties:
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [ORIGIN_PROPERTY]
    return props


#: The properties of every message the platform publishes, built once: paho only reads them, and
#: building them costs ~24 µs (a tenth of a reading's whole budget at 2,000 readings a second).
_PLATFORM_PROPERTIES = platform_properties()


def from_platform(msg: mqtt.MQTTMessage) -> bool:
    props = getattr(msg, "properties", None)
    return bool(props is not None and ORIGIN_PROPERTY in (getattr(props, "UserProperty", None) or []))


def new_client(client_id: str, *, manual_ack: bool = False) -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack)


class Reading(NamedTuple):
    """A message as the ingest worker needs it: what it says, where, and how to acknowledge it.

    A tuple of plain values, which the garbage collector stops tracking: tens of thousands wait
    in the worker's inbox when it falls behind, and as objects they would each be traversed by
    every full collection."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    #: The platform's own republished observation (user property ``onecity-origin=platform``).
    echo: bool


#: How the origin user property looks on the wire (MQTT 5 §2.2.2.2: identifier 0x26, then the
#: name and the value, each a two-byte length and UTF-8).
_ORIGIN_WIRE = b"\x26" + b"".join(len(v).to_bytes(2, "big") + v.encode() for v in ORIGIN_PROPERTY)


def _reading_of(msg: mqtt.MQTTMessage) -> Reading:
    return Reading(msg.topic, bytes(msg.payload), msg.mid, msg.qos, from_platform(msg))


class ReadingClient(mqtt.Client):
    """A paho client that hands each QoS 0/1 PUBLISH to ``sink`` as a :class:`Reading`, decoded
    without paho's per-message objects.

    Why: paho 2.x builds, for every message it receives, an MQTT 5 ``Properties`` whose
    constructor rebuilds two 27-entry tables, an ``MQTTMessage`` with a ``threading.Condition``,
    and matches the topic against the callbacks' filters; profiled under 2,000 readings a second
    that was about 70 % of the ingest worker's CPU (bench/README.md, "Sensing ingest under the alert
    benchmark"). Here the packet is cut into topic, packet id and payload (MQTT 5 §3.3), and the
    properties are only searched for the platform's origin mark. Anything else (QoS 2, a paho
    whose internals differ) takes paho's own path, through ``on_message``, into the same sink.
    """

    def __init__(self, client_id: str, sink: Callable[[Reading], None], *, manual_ack: bool = True) -> None:
        super().__init__(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack)
        self._sink = sink
        self.on_message = lambda c, u, msg: sink(_reading_of(msg))

    def _handle_publish(self) -> MQTTErrorCode:
        packet = self._in_packet.get("packet") if isinstance(getattr(self, "_in_packet", None), dict) else None
        reading = _decode(self._in_packet.get("command", 0), packet) if packet is not None else None
        if reading is None:
            return super()._handle_publish()
        self._sink(reading)
        if reading.qos == 1 and not self._manual_ack:
            return self._send_puback(reading.mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS


def _decode(header: int, packet: bytes | bytearray) -> Reading | None:
    """An MQTT 5 PUBLISH of QoS 0 or 1 as a :class:`Reading`; None: leave it to paho."""
    qos = (header & 0x06) >> 1
    if qos > 1 or len(packet) < 3:
        return None
    n = (packet[0] << 8) | packet[1]
    pos = 2 + n
    try:
        topic = bytes(packet[2:pos]).decode()
    except UnicodeDecodeError:
        return None
    mid = 0
    if qos:
        mid = (packet[pos] << 8) | packet[pos + 1]
        pos += 2
    # the properties' length, a variable byte integer (§1.5.5)
    length, shift = 0, 0
    while True:
        if pos >= len(packet) or shift > 21:
            return None
        byte = packet[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    end = pos + length
    if end > len(packet) or not topic:
        return None  # malformed, or a topic alias (never granted: the client asks for none)
    echo = length > 0 and _ORIGIN_WIRE in packet[pos:end]
    return Reading(topic, bytes(packet[end:]), mid, qos, echo)


def connect(client: mqtt.Client, url: str | None, *, session_expiry: int = 0, timeout: float = 10.0) -> None:
    """Connect and start the network thread; waits until the broker accepted the session.

    ``session_expiry`` > 0 resumes the client id's session (clean start off) and asks the
    broker to keep it that many seconds after a disconnect; 0 starts clean and ends with it."""
    host, port = broker_address(url)
    props = Properties(PacketTypes.CONNECT)
    props.ReceiveMaximum = 65_535
    persistent = session_expiry > 0
    if persistent:
        props.SessionExpiryInterval = session_expiry
    connected = threading.Event()
    previous = client.on_connect

    def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if not reason.is_failure:
            connected.set()
        if previous is not None:
            previous(c, userdata, flags, reason, properties)  # type: ignore[call-arg]

    client.on_connect = on_connect
    client.connect(host, port, keepalive=30, clean_start=not persistent, properties=props)
    client.loop_start()
    if not connected.wait(timeout):
        client.loop_stop()
        raise ConnectionError(f"the MQTT broker at {host}:{port} did not accept the connection")


# -- the republisher (used by the bus consumer) -------------------------------------------------


#: How many republished messages a lane keeps in flight to the broker (paho's default is 20: at
#: a round trip of a few milliseconds that caps a lane near 2,000 a second, below the ingest's rate).
REPUBLISH_IN_FLIGHT = 1000


class Republisher:
    """Lazily connected clients the consumers publish through (one set per process), one per
    *lane*: the stored observations go out on one connection, the alerts on another, so an alert
    never waits in a queue behind thousands of readings being republished (one MQTT connection
    delivers in order)."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.enabled = False
        #: Set once someone chose (``configure``); until then the settings decide.
        self.configured = False
        self._clients: dict[str, mqtt.Client] = {}
        self._lock = threading.Lock()

    def configure(self, url: str | None) -> None:
        with self._lock:
            if url != self.url:
                for c in self._clients.values():
                    c.disconnect()
                    c.loop_stop()
                self._clients.clear()
            self.url, self.enabled, self.configured = url, url is not None, True

    def client(self, lane: str = "observations") -> mqtt.Client:
        with self._lock:
            c = self._clients.get(lane)
            if c is None:
                c = new_client(f"onecity-pub-{lane}-{clock.now().timestamp():.0f}-{threading.get_ident() % 100000}")
                c.max_inflight_messages_set(REPUBLISH_IN_FLIGHT)
                connect(c, self.url)
                self._clients[lane] = c
            return c

    def publish_many(
        self, messages: list[tuple[str, bytes]], *, lane: str = "observations", timeout: float = 10.0
    ) -> None:
        """QoS 1 publishes on ``lane``'s connection, waited for: a failure raises so the bus redelivers the event."""
        if not self.enabled or not messages:
            return
        c = self.client(lane)
        infos = [c.publish(topic, payload, qos=1, properties=_PLATFORM_PROPERTIES) for topic, payload in messages]
        deadline = time.monotonic() + timeout
        for info in infos:
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            if not info.is_published():
                raise ConnectionError("the MQTT broker did not acknowledge a republished observation in time")


REPUBLISHER = Republisher()


# -- the ingest worker ----------------------------------------------------------------------------


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    echoes: int = 0
    batches: int = 0
    last_error: str | None = None
    latencies_ms: list[float] = field(default_factory=list)
    #: Readings that came again (JetStream: another worker had them and died before acking).
    redelivered: int = 0


def parse_messages(
    messages: list[tuple[str, bytes]], stats: IngestStats, *, now: datetime | None = None
) -> list[NewObservation]:
    """Validate device messages (topic, payload) into rows to store; counts echoes and rejects.

    The dedup key of each row is the digest of its topic and bytes: whichever path brings a
    message again (an MQTT redelivery, a JetStream one) carries the same key."""
    rows: list[NewObservation] = []
    now = now or clock.now()
    for topic, payload in messages:
        m = _DS_TOPIC.match(topic)
        try:
            if m is None:
                raise ValueError(f"topic {topic!r} is not v1.1/Datastreams(<id>)/Observations")
            obj = json.loads(payload)
            if isinstance(obj, dict) and "@iot.id" in obj:
                stats.echoes += 1  # an observation that was already stored, republished
                continue
            rows.append(parse_observation(obj, int(m.group(1)), now=now, dedup_key=message_key(topic, payload)))
        except (ValueError, DomainError) as err:
            stats.rejected += 1
            detail = getattr(err, "detail", str(err))
            log.warning("dropped a reading on %s: %s", topic, detail)
    return rows


class IngestWorker:
    """Receives observations over MQTT and stores them in batches, acking after each commit."""

    def __init__(
        self,
        db: Database,
        url: str | None,
        *,
        worker_id: str = "1",
        batch: int = 2000,
        flush_seconds: float = 0.05,
        principal: Principal = INGEST,
        on_stored: Callable[[int], None] | None = None,
        group: str = SHARE_GROUP,
        session_expiry: int = DEFAULT_SESSION_EXPIRY,
    ) -> None:
        if session_expiry < 1:
            raise ValueError("an ingest worker's session expiry must be at least one second")
        self.group, self.session_expiry = group, session_expiry
        self.db, self.url, self.batch, self.flush_seconds = db, url, min(batch, MAX_BATCH), flush_seconds
        self.client_id = f"onecity-ingest-{worker_id}"
        self.principal = principal
        self.stats = IngestStats()
        self.on_stored = on_stored
        self._inbox: queue.SimpleQueue[Reading] = queue.SimpleQueue()
        self._stop = threading.Event()
        self.subscribed = threading.Event()
        self.client = self._new_client()

    def _new_client(self) -> ReadingClient:
        client = ReadingClient(self.client_id, self._inbox.put)
        client.on_connect = self._subscribe
        client.on_subscribe = lambda *_: self.subscribed.set()
        return client

    def _subscribe(self, c: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if not reason.is_failure:
            c.subscribe(f"$share/{self.group}/{OBSERVATION_TOPICS}", qos=1)

    def start(self) -> None:
        """Connect and wait for the broker to confirm the subscription (no message is missed after)."""
        connect(self.client, self.url, session_expiry=self.session_expiry)
        if not self.subscribed.wait(10):
            raise ConnectionError("the MQTT broker did not confirm the ingest subscription")

    def stop(self) -> None:
        self._stop.set()

    def close(self, *, forget: bool = False) -> None:
        """Disconnect; ``forget`` also ends the broker's session (a worker retired for good, or a
        test's), so the broker stops queueing messages for it."""
        props = None
        if forget:
            props = Properties(PacketTypes.DISCONNECT)
            props.SessionExpiryInterval = 0
        self.client.disconnect(properties=props)
        self.client.loop_stop()

    def _drain(self) -> list[Reading]:
        out: list[Reading] = []
        try:
            out.append(self._inbox.get(timeout=0.2))
        except queue.Empty:
            return out
        deadline = time.monotonic() + self.flush_seconds
        while len(out) < self.batch:
            wait = deadline - time.monotonic()
            try:
                out.append(self._inbox.get(timeout=wait) if wait > 0 else self._inbox.get_nowait())
            except queue.Empty:
                break
        return out

    def _parse(self, msgs: list[Reading]) -> list[NewObservation]:
        items: list[tuple[str, bytes]] = []
        for msg in msgs:
            if msg.echo:
                self.stats.echoes += 1
            else:
                items.append((msg.topic, msg.payload))
        return parse_messages(items, self.stats)

    def process(self, msgs: list[Reading]) -> None:
        """Store one batch, commit, then acknowledge every message of it (never before)."""
        self.stats.received += len(msgs)
        rows = self._parse(msgs)
        if rows:
            with self.db.transaction() as session:
                result = store_observations(
                    session, rows, principal=self.principal, origin=DEVICE_ORIGIN, skip_unknown=True
                )
            self.stats.stored += result.stored
            self.stats.duplicates += result.duplicates
            self.stats.rejected += len(rows) - result.stored - result.duplicates
            if self.on_stored is not None:
                self.on_stored(result.stored)
        self.stats.batches += 1
        for msg in msgs:
            if msg.qos > 0:
                self.client.ack(msg.mid, msg.qos)

    def run(self, *, silence_every: float = 60.0, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Loop until stopped: batches as they come, the silence check every ``silence_every`` s."""
        from onecity.sensing import rules

        last_silence = time.monotonic()
        while not self._stop.is_set() and not should_stop():
            msgs = self._drain()
            if msgs:
                try:
                    self.process(msgs)
                except Exception as err:
                    # nothing was acked: the broker redelivers this batch after reconnecting
                    self.stats.last_error = str(err)
                    log.exception("storing a batch of %d failed; reconnecting for redelivery", len(msgs))
                    self._reconnect()
            if time.monotonic() - last_silence >= silence_every:
                last_silence = time.monotonic()
                try:
                    with self.db.transaction() as session:
                        rules.check_silence(session, principal=self.principal)
                except Exception:
                    log.exception("the silence check failed; will try again")

    def _reconnect(self) -> None:
        """Drop the connection without acking: the persistent session gets the batch again."""
        self.client.disconnect()
        self.client.loop_stop()
        while True:
            try:
                self._inbox.get_nowait()
            except queue.Empty:
                break
        time.sleep(1.0)
        self.client = self._new_client()
        connect(self.client, self.url, session_expiry=self.session_expiry)


def forget_session(url: str | None, client_id: str) -> None:
    """End a persistent session left on the broker by a worker that will not come back."""
    c = new_client(client_id)
    connect(c, url)
    c.disconnect()
    c.loop_stop()
