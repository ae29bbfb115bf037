"""The bus interface every implementation follows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Delivery:
    subject: str
    data: bytes
    message_id: str
    #: 1 on first delivery, more when redelivered after a failure or a dead consumer.
    attempt: int


Handler = Callable[[Delivery], Awaitable[None]]
#: Several waiting deliveries at once; each one's outcome, None (done) or the error it raised.
BatchHandler = Callable[[Sequence[Delivery]], Awaitable[list[BaseException | None]]]


def batch_of(handler: Handler) -> BatchHandler | None:
    """The handler's way to take several waiting deliveries at once (its ``batch``), if it has one:
    a bus hands a burst to it in one call (:class:`onecity.core.bus.consumer.IdempotentHandler`)."""
    many = getattr(handler, "batch", None)
    return many if callable(many) else None


class Subscription(Protocol):
    async def stop(self) -> None: ...


class Bus(Protocol):
    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, subject: str, data: bytes, message_id: str) -> None:
        """Publish once; a second publish with the same ``message_id`` is discarded."""

    async def subscribe(self, subject: str, durable: str, handler: Handler) -> Subscription:
        """Deliver every message on ``subject`` (wildcards ``*``/``>``) to ``durable``.

        Each durable name is one consumer group: its members share the messages, each
        message is acked when ``handler`` returns and redelivered when it raises.
        """

    async def healthy(self) -> bool: ...


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` one token, ``>`` one or more trailing tokens."""
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)
