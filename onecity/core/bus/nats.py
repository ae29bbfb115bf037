"""NATS JetStream: the bus at city scale.

One stream (default ``ONECITY``) holds every subject under ``onecity.>``; its duplicate
window discards a republished message id. Consumers are durable pull consumers with
explicit ack: a member that dies before acking leaves the message to be redelivered to
another member after ``ack_wait``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from onecity.core.bus.base import Delivery, Handler, batch_of
from onecity.core.errors import Unavailable
from onecity.core.events import SUBJECT_PREFIX

log = logging.getLogger(__name__)


class _NatsSubscription:
    def __init__(self, task: asyncio.Task[None]) -> None:
        self._task = task

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class NatsBus:
    def __init__(
        self,
        url: str,
        *,
        stream: str = "ONECITY",
        ack_wait: float = 30.0,
        duplicate_window: float = 600.0,
        batch: int = 100,
        namespace: str = "",
        fetch_wait: float = 1.0,
    ) -> None:
        """``namespace`` prefixes every subject, so several deployments (or test runs) can
        share one NATS server without their streams' subjects overlapping. A member's pull
        request waits up to ``fetch_wait`` seconds for messages before it asks again."""
        self.url, self.stream, self.ack_wait, self.fetch_wait = url, stream, ack_wait, fetch_wait
        self._ns = f"{namespace}." if namespace else ""
        self.duplicate_window, self.batch = duplicate_window, batch
        self._nc: NatsClient | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        try:
            # reconnect for ever once connected, but give up on a server that is not there at start
            self._nc = await asyncio.wait_for(
                nats.connect(self.url, connect_timeout=2, max_reconnect_attempts=-1, allow_reconnect=True),
                timeout=5,
            )
            js = self._nc.jetstream()
            config = StreamConfig(
                name=self.stream, subjects=[f"{self._ns}{SUBJECT_PREFIX}.>"], duplicate_window=self.duplicate_window
            )
            try:
                await js.stream_info(self.stream)
                await js.update_stream(config)
            except NotFoundError:
                await js.add_stream(config)
        except (NatsError, OSError, TimeoutError) as err:
            raise Unavailable(f"cannot reach NATS JetStream at {self.url}: {err}") from err

    @property
    def _js(self):  # type: ignore[no-untyped-def]
        if self._nc is None:
            raise Unavailable("the NATS bus is not connected")
        return self._nc.jetstream()

    async def delete_stream(self) -> None:
        """Remove the stream and its consumers (tests, and decommissioning a namespace)."""
        with contextlib.suppress(NotFoundError):
            await self._js.delete_stream(self.stream)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.flush(timeout=2)  # publishes are acked by JetStream already; be quick
            with contextlib.suppress(Exception):
                await self._nc.close()
            self._nc = None

    async def healthy(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def publish(self, subject: str, data: bytes, message_id: str) -> None:
        try:
            await self._js.publish(self._ns + subject, data, stream=self.stream, headers={"Nats-Msg-Id": message_id})
        except (NatsError, OSError) as err:
            raise Unavailable(f"publishing to NATS failed: {err}") from err

    async def subscribe(self, subject: str, durable: str, handler: Handler) -> _NatsSubscription:
        subject = self._ns + subject
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            filter_subject=subject,
            max_deliver=-1,
        )
        # a member joining a group binds to its consumer as it is (nats-py's pull_subscribe adds the
        # consumer only when there is none)
        sub = await self._js.pull_subscribe(subject, durable=durable, stream=self.stream, config=config)
        task = asyncio.create_task(self._pull(sub, handler), name=f"nats:{durable}")
        self._tasks.append(task)
        return _NatsSubscription(task)

    async def _pull(self, sub, handler: Handler) -> None:  # type: ignore[no-untyped-def]
        """The member's loop: it must outlive every error, or its group silently stops receiving
        (and what a dead member left unacknowledged stays unacknowledged)."""
        while True:
            try:
                msgs = await sub.fetch(self.batch, timeout=self.fetch_wait)
            except TimeoutError:
                # nothing came: nats-py's own TimeoutError, or the bare asyncio one it raises when the
                # server's 408 to its probe arrives after the fetch's time is up (a busy process: one
                # idle fetch in 20 on a loaded two-core machine); that one used to end this loop for good
                continue
            except NatsError as err:
                log.warning("NATS fetch failed (%s); retrying", err)
                await asyncio.sleep(1.0)
                continue
            except Exception:
                log.exception("NATS fetch failed unexpectedly; retrying")
                await asyncio.sleep(1.0)
                continue
            deliveries = []
            for msg in msgs:
                meta = msg.metadata
                msg_id = (msg.headers or {}).get("Nats-Msg-Id", f"{meta.stream}:{meta.sequence.stream}")
                deliveries.append(Delivery(msg.subject.removeprefix(self._ns), msg.data, msg_id, meta.num_delivered))
            many = batch_of(handler)
            if many is None or len(deliveries) == 1:  # one at a time, each acked as soon as it is done
                for msg, delivery in zip(msgs, deliveries, strict=True):
                    try:
                        await handler(delivery)
                    except asyncio.CancelledError:
                        raise
                    except Exception as err:
                        await self._settle(msg, delivery, err)
                    else:
                        await self._settle(msg, delivery, None)
                continue
            try:  # the fetched burst in one call (one transaction for an idempotent consumer)
                outcomes = await many(deliveries)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                outcomes = [err] * len(deliveries)
            for msg, delivery, outcome in zip(msgs, deliveries, outcomes, strict=True):
                await self._settle(msg, delivery, outcome)

    async def _settle(self, msg, delivery: Delivery, outcome: BaseException | None) -> None:  # type: ignore[no-untyped-def]
        """Ack a handled message; ask for a failed one again (unanswered, it comes after ack_wait)."""
        if outcome is not None:
            log.error("handler failed on %s; asking for redelivery", delivery.message_id, exc_info=outcome)
            with contextlib.suppress(NatsError):
                await msg.nak(delay=min(delivery.attempt, 30))
            return
        try:
            await msg.ack()
        except NatsError as err:  # unacknowledged, it comes again after ack_wait
            log.warning("acking %s failed (%s); it will be redelivered", delivery.message_id, err)
