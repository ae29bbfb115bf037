"""The event bus: one interface, an in-process implementation and NATS JetStream.

``connect_bus(url)`` picks the implementation from ``ONECITY_BUS_URL``: ``memory://`` (the
embedded default) or ``nats://host:port``. Both give durable consumers with explicit
acknowledgement: a handler that raises (or a process that dies) before acking gets the
message again; the consumer's inbox (:func:`onecity.core.bus.consumer.idempotent`) turns
that at-least-once delivery into exactly-once processing.
"""

from __future__ import annotations

from onecity.core.bus.base import Bus, Delivery, Handler, Subscription


def connect_bus(url: str, *, stream: str = "ONECITY", ack_wait: float = 30.0) -> Bus:
    if url.startswith("memory://"):
        from onecity.core.bus.memory import MemoryBus

        return MemoryBus()
    if url.startswith(("nats://", "tls://")):
        from onecity.core.bus.nats import NatsBus

        return NatsBus(url, stream=stream, ack_wait=ack_wait)
    raise ValueError(f"ONECITY_BUS_URL {url!r} is not supported: use memory:// or nats://host:port")


__all__ = ["Bus", "Delivery", "Handler", "Subscription", "connect_bus"]
