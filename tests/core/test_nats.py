"""The bus at city scale, against the real NATS JetStream server on this machine."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from bench._runs import orphanless
from onecity.core import events
from onecity.core.bus.base import Delivery
from onecity.core.bus.consumer import idempotent
from onecity.core.bus.nats import NatsBus
from onecity.core.bus.relay import OutboxRelay
from onecity.core.db import Database
from onecity.core.events import Envelope, OutboxMessage, ProcessedMessage
from tests.conftest import NATS_URL, SYSTEM

pytestmark = pytest.mark.nats


class Noted(BaseModel):
    text: str


NOTED = events.event_type("test.note.written", Noted)


@pytest.fixture
def nats_names(nats_url: str) -> tuple[str, str]:
    """A stream and a subject namespace of this test's own; the pid in the stream's name lets the
    next run delete it (and its consumers) if this one is killed before its ``finally``."""
    tag = uuid.uuid4().hex[:8]
    return f"TEST_{os.getpid()}_{tag.upper()}", f"t{tag}"


async def settled(bus: NatsBus, stream: str, durable: str, *, timeout: float = 60.0) -> str:
    """Wait until ``durable`` has nothing left to deliver or redeliver (no message pending, none
    awaiting its ack): from then on nothing more can reach its members. Returns its state in words."""
    deadline = time.monotonic() + timeout
    while True:
        info = await bus._js.consumer_info(stream, durable)
        state = (
            f"consumer {durable}: {info.num_ack_pending} awaiting ack, {info.num_redelivered} redelivered, "
            f"{info.num_pending} not yet delivered, {info.num_waiting} pull requests waiting"
        )
        if (info.num_ack_pending == 0 and info.num_pending == 0) or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.05)


def test_commit_delivered_once_per_consumer_even_when_a_consumer_dies_before_ack(
    db: Database, nats_names: tuple[str, str], tmp_path: Path
) -> None:
    stream, namespace = nats_names
    marker = tmp_path / "taken"

    async def scenario() -> tuple[list[tuple[str, int]], list[str], str, list[str], int]:
        # the dead member's message comes back to a live one after ack_wait (the consumer's, set by
        # whichever member creates it: the doomed one below, with the same second)
        bus = NatsBus(NATS_URL, stream=stream, namespace=namespace, ack_wait=1.0)
        await bus.connect()
        try:
            with pytest.raises(RuntimeError), db.transaction() as session:
                events.publish(session, NOTED, Noted(text="rolled back"), principal=SYSTEM, reason="t")
                raise RuntimeError("abort")
            with db.transaction() as session:
                events.publish(session, NOTED, Noted(text="committed"), principal=SYSTEM, reason="t")
            relay = OutboxRelay(db, bus)
            assert await relay.relay_once() == 1
            # the relay crashes after publishing, before marking: the same message goes again
            with db.transaction() as session:
                for row in session.scalars(select(OutboxMessage)):
                    row.published_at = None
            assert await relay.relay_once() == 1
            # the stream's duplicate window kept one copy
            stored = (await bus._js.stream_info(stream)).state.messages

            # consumer group "workers": its first member takes the message and is killed before acking
            proc = subprocess.Popen(
                orphanless(
                    [sys.executable, "-m", "tests.core.nats_consumer"]
                    + [NATS_URL, stream, namespace, "workers", str(marker), "1.0"]
                ),
                cwd=Path(__file__).resolve().parents[2],
                env={**os.environ},
            )
            try:
                deadline = time.monotonic() + 60  # a Python start on a loaded machine
                while not marker.exists() and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                assert marker.exists(), "the doomed consumer never received the message"
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait()

            # a second member of the same group gets it after ack_wait, as a redelivery, processes it once
            worked: list[tuple[str, int]] = []
            attempts: list[int] = []

            def work(session: object, env: Envelope) -> None:
                worked.append((env.typed(NOTED).text, attempts[-1]))

            inbox = idempotent(db, "workers", work)

            async def member(d: Delivery) -> None:
                attempts.append(d.attempt)
                await inbox(d)

            await bus.subscribe("onecity.>", "workers", member)
            # an independent consumer group gets its own single copy
            mirrored: list[str] = []

            async def mirror(d: Delivery) -> None:
                mirrored.append(Envelope.from_bytes(d.data).typed(NOTED).text)

            await bus.subscribe("onecity.test.>", "mirror", mirror)
            # once neither group has anything pending or awaiting an ack, nothing more can arrive
            state = await settled(bus, stream, "workers")
            await settled(bus, stream, "mirror")
            alive = [t.get_name() for t in bus._tasks if not t.done()]
            return worked, mirrored, state, alive, stored
        finally:
            await bus.delete_stream()
            await bus.close()

    worked, mirrored, state, alive, stored = asyncio.run(asyncio.wait_for(scenario(), timeout=150))
    assert marker.read_text() != ""  # the doomed member had the message
    assert stored == 1
    assert worked == [("committed", 2)], state  # the dead member's delivery was the first
    assert mirrored == ["committed"]
    assert alive == ["nats:workers", "nats:mirror"]  # both members still pulling
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedMessage)) == 1


def test_redelivered_message_already_processed_is_not_processed_again(
    db: Database, nats_names: tuple[str, str]
) -> None:
    """A consumer that committed its work but died before acking sees the message again: the inbox skips it."""
    stream, namespace = nats_names

    async def scenario() -> tuple[list[int], list[int], str]:
        bus = NatsBus(NATS_URL, stream=stream, namespace=namespace, ack_wait=1.0)
        await bus.connect()
        try:
            with db.transaction() as session:
                events.publish(session, NOTED, Noted(text="once"), principal=SYSTEM, reason="t")
            await OutboxRelay(db, bus).relay_once()
            runs: list[int] = []
            attempts: list[int] = []

            def work(session: object, env: Envelope) -> None:
                runs.append(1)

            inner = idempotent(db, "dying", work)

            async def commit_then_die(d: Delivery) -> None:
                attempts.append(d.attempt)
                await inner(d)
                if d.attempt == 1:
                    raise RuntimeError("died after commit, before ack")

            await bus.subscribe("onecity.>", "dying", commit_then_die)
            deadline = time.monotonic() + 60
            while len(attempts) < 2 and time.monotonic() < deadline:  # the nak asks again in a second
                await asyncio.sleep(0.05)
            state = await settled(bus, stream, "dying")  # the second delivery acked: nothing more comes
            return runs, attempts, state
        finally:
            await bus.delete_stream()
            await bus.close()

    runs, attempts, state = asyncio.run(asyncio.wait_for(scenario(), timeout=120))
    assert attempts == [1, 2], state
    assert runs == [1]


def test_members_keep_pulling_through_empty_fetches(db: Database, nats_names: tuple[str, str]) -> None:
    """Idle members of four groups, asking every 10 ms (a hundred empty fetches each, a year of idle
    seconds' worth of nats-py's races), still get the next message: a fetch that comes back empty,
    in any of nats-py's ways, never ends a member's loop. (Its bare ``TimeoutError``, raised when the
    server's answer to its probe lands after the fetch's time, once did: the group never received
    again, and a dead member's unacknowledged message stayed unacknowledged.)"""
    stream, namespace = nats_names
    groups = [f"g{i}" for i in range(4)]

    async def scenario() -> tuple[dict[str, list[str]], list[str]]:
        bus = NatsBus(NATS_URL, stream=stream, namespace=namespace, ack_wait=1.0, fetch_wait=0.01)
        await bus.connect()
        try:
            got: dict[str, list[str]] = {g: [] for g in groups}

            def member(group: str) -> Callable[[Delivery], Awaitable[None]]:
                async def handle(d: Delivery) -> None:
                    got[group].append(Envelope.from_bytes(d.data).typed(NOTED).text)

                return handle

            for g in groups:
                await bus.subscribe("onecity.>", g, member(g))
            await asyncio.sleep(1.5)
            with db.transaction() as session:
                events.publish(session, NOTED, Noted(text="after the quiet"), principal=SYSTEM, reason="t")
            assert await OutboxRelay(db, bus).relay_once() == 1
            for g in groups:
                await settled(bus, stream, g, timeout=20)
            return got, [t.get_name() for t in bus._tasks if t.done()]
        finally:
            await bus.delete_stream()
            await bus.close()

    got, ended = asyncio.run(asyncio.wait_for(scenario(), timeout=120))
    assert ended == []
    assert got == {g: ["after the quiet"] for g in groups}


def test_unreachable_nats_is_a_clear_error() -> None:
    from onecity.core.errors import Unavailable

    async def scenario() -> None:
        await NatsBus("nats://127.0.0.1:1", stream="X").connect()

    with pytest.raises(Unavailable, match="cannot reach NATS"):
        asyncio.run(scenario())
