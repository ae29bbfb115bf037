"""The ingest worker's own PUBLISH decoder (:func:`onecity.sensing.mqtt._decode`) reads what paho's
does: topic, packet id, payload, and whether the platform's origin mark is among the properties."""

from __future__ import annotations

import pytest
from paho.mqtt import _packet
from paho.mqtt.client import MQTTv5
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from onecity.sensing import mqtt


def _publish(topic: str, payload: bytes, qos: int, mid: int, props: Properties | None) -> tuple[int, bytes]:
    """(fixed header's first byte, the packet after the fixed header), as a broker sends them."""
    body = len(topic.encode()).to_bytes(2, "big") + topic.encode()
    if qos:
        body += mid.to_bytes(2, "big")
    body += props.pack() if props is not None else b"\x00"
    return 0x30 | (qos << 1), body + payload


def _props(*pairs: tuple[str, str], expiry: int | None = None) -> Properties:
    p = Properties(PacketTypes.PUBLISH)
    if pairs:
        p.UserProperty = list(pairs)
    if expiry is not None:
        p.MessageExpiryInterval = expiry
    return p


@pytest.mark.parametrize(
    ("qos", "props", "echo"),
    [
        (1, None, False),
        (0, None, False),
        (1, _props(mqtt.ORIGIN_PROPERTY), True),
        (1, _props(("onecity-origin", "device"), expiry=60), False),
        # properties longer than 127 bytes: their length takes two bytes
        (1, _props(("x" * 100, "y" * 100), mqtt.ORIGIN_PROPERTY), True),
    ],
)
def test_decode_reads_what_paho_reads(qos: int, props: Properties | None, echo: bool) -> None:
    topic = "v1.1/Datastreams(42)/Observations"
    payload = b'{"phenomenonTime": "2026-07-01T08:00:00Z", "result": 3.5}'
    header, packet = _publish(topic, payload, qos, 4711, props)
    theirs = _packet.decode_publish(header, bytearray(packet), MQTTv5)
    ours = mqtt._decode(header, bytearray(packet))
    assert ours is not None
    assert (ours.topic, ours.payload, ours.mid, ours.qos) == (
        theirs.topic.decode(),
        bytes(theirs.payload),
        theirs.mid,
        theirs.qos,
    )
    assert ours.echo is echo
    marks = getattr(theirs.properties, "UserProperty", None) or []
    assert ours.echo == (mqtt.ORIGIN_PROPERTY in marks)


def test_decode_leaves_qos_2_and_malformed_packets_to_paho() -> None:
    header, packet = _publish("v1.1/Datastreams(1)/Observations", b"{}", 2, 7, None)
    assert mqtt._decode(header, bytearray(packet)) is None
    header, packet = _publish("v1.1/Datastreams(1)/Observations", b"{}", 1, 7, None)
    assert mqtt._decode(header, bytearray(packet[:-3])) is None  # cut inside the properties' length
    assert mqtt._decode(header, bytearray(b"\x00\x00\x00\x07\x00")) is None  # an empty topic (an alias)
