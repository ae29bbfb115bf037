"""The in-process bus: same semantics as JetStream, inside one Python process.

Messages are kept per durable consumer until handled; a handler that raises is retried
with a short back-off. Nothing survives the process, which is why the outbox, not the bus,
is the record: on restart the relay resends whatever was not yet marked sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass, field

from onecity.core.bus.base import Delivery, Handler, batch_of, subject_matches

log = logging.getLogger(__name__)

DEDUP_WINDOW = 100_000
#: At most this many waiting messages handed to a consumer that takes several at once.
BATCH = 32


@dataclass
class _Consumer:
    subject: str
    queue: asyncio.Queue[tuple[str, bytes, str, int]] = field(default_factory=asyncio.Queue)
    handlers: list[Handler] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class _MemorySubscription:
    def __init__(self, bus: MemoryBus, durable: str, task: asyncio.Task[None]) -> None:
        self._bus, self._durable, self._task = bus, durable, task

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class MemoryBus:
    def __init__(self, retry_delay: float = 0.05) -> None:
        self._consumers: dict[str, _Consumer] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._retry_delay = retry_delay
        self.published = 0

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        for c in self._consumers.values():
            for t in c.tasks:
                t.cancel()
        self._consumers.clear()

    async def healthy(self) -> bool:
        return True

    async def publish(self, subject: str, data: bytes, message_id: str) -> None:
        if message_id in self._seen:
            return
        self._seen[message_id] = None
        if len(self._seen) > DEDUP_WINDOW:
            self._seen.popitem(last=False)
        self.published += 1
        for c in self._consumers.values():
            if subject_matches(c.subject, subject):
                c.queue.put_nowait((subject, data, message_id, 1))

    async def subscribe(self, subject: str, durable: str, handler: Handler) -> _MemorySubscription:
        consumer = self._consumers.setdefault(durable, _Consumer(subject))
        task = asyncio.create_task(self._work(consumer, handler), name=f"bus:{durable}")
        consumer.tasks.append(task)
        return _MemorySubscription(self, durable, task)

    async def _work(self, consumer: _Consumer, handler: Handler) -> None:
        many = batch_of(handler)
        while True:
            items = [await consumer.queue.get()]
            while many is not None and len(items) < BATCH and not consumer.queue.empty():
                items.append(consumer.queue.get_nowait())  # the burst waiting behind it, in one call
            try:
                if many is None or len(items) == 1:
                    await handler(Delivery(*items[0]))
                    outcomes: list[BaseException | None] = [None]
                else:
                    outcomes = await many([Delivery(*item) for item in items])
            except asyncio.CancelledError:
                for subject, data, msg_id, attempt in items:
                    consumer.queue.put_nowait((subject, data, msg_id, attempt + 1))
                raise
            except Exception as err:
                outcomes = [err] * len(items)
            failed = [item for item, outcome in zip(items, outcomes, strict=True) if outcome is not None]
            if not failed:
                continue
            for (_s, _d, msg_id, attempt), outcome in zip(items, outcomes, strict=True):
                if outcome is not None:
                    log.error("handler failed on %s (attempt %d); will redeliver", msg_id, attempt, exc_info=outcome)
            await asyncio.sleep(self._retry_delay * min(max(item[3] for item in failed), 20))
            for subject, data, msg_id, attempt in failed:
                consumer.queue.put_nowait((subject, data, msg_id, attempt + 1))
