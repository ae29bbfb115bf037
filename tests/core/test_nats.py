"""The bus at city scale, against the real NATS JetStream server on this machine."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
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


def test_commit_delivered_once_per_consumer_even_when_a_consumer_dies_before_ack(
    db: Database, nats_names: tuple[str, str], tmp_path: Path
) -> None:
    stream, namespace = nats_names
    marker = tmp_path / "taken"

    async def scenario() -> tuple[list[str], list[str], int]:
        bus = NatsBus(NATS_URL, stream=stream, namespace=namespace, ack_wait=2.0)
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

            # consumer group "workers": its first member takes the message and is killed before acking
            proc = subprocess.Popen(
                orphanless(
                    [sys.executable, "-m", "tests.core.nats_consumer"]
                    + [NATS_URL, stream, namespace, "workers", str(marker)]
                ),
                cwd=Path(__file__).resolve().parents[2],
                env={**os.environ},
            )
            try:
                deadline = time.monotonic() + 20
                while not marker.exists() and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                assert marker.exists(), "the doomed consumer never received the message"
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait()

            # a second member of the same group gets it after ack_wait, processes it once
            worked: list[str] = []

            def work(session: object, env: Envelope) -> None:
                worked.append(env.typed(NOTED).text)

            await bus.subscribe("onecity.>", "workers", idempotent(db, "workers", work))
            # an independent consumer group gets its own single copy
            mirrored: list[str] = []

            async def mirror(d: Delivery) -> None:
                mirrored.append(Envelope.from_bytes(d.data).typed(NOTED).text)

            await bus.subscribe("onecity.test.>", "mirror", mirror)
            deadline = time.monotonic() + 45  # ack_wait is 2 s; a machine under load may take far longer
            while (not worked or not mirrored) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(3)  # longer than ack_wait: nothing more may arrive
            info = await bus._js.consumer_info(stream, "workers")  # where the message is, should this fail
            state = (
                f"consumer workers: {info.num_ack_pending} awaiting ack, {info.num_redelivered} redelivered, "
                f"{info.num_pending} not yet delivered, {info.num_waiting} pull requests waiting"
            )
            return worked, mirrored, int(marker.read_text() != ""), state
        finally:
            await bus.delete_stream()
            await bus.close()

    worked, mirrored, taken, state = asyncio.run(asyncio.wait_for(scenario(), timeout=150))
    assert taken == 1
    assert worked == ["committed"], state
    assert mirrored == ["committed"]
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedMessage)) == 1


def test_redelivered_message_already_processed_is_not_processed_again(
    db: Database, nats_names: tuple[str, str]
) -> None:
    """A consumer that committed its work but died before acking sees the message again: the inbox skips it."""
    stream, namespace = nats_names

    async def scenario() -> list[int]:
        bus = NatsBus(NATS_URL, stream=stream, namespace=namespace, ack_wait=1.0)
        await bus.connect()
        try:
            with db.transaction() as session:
                events.publish(session, NOTED, Noted(text="once"), principal=SYSTEM, reason="t")
            await OutboxRelay(db, bus).relay_once()
            runs: list[int] = []

            def work(session: object, env: Envelope) -> None:
                runs.append(1)

            inner = idempotent(db, "dying", work)

            async def commit_then_die(d: Delivery) -> None:
                await inner(d)
                if d.attempt == 1:
                    raise RuntimeError("died after commit, before ack")

            await bus.subscribe("onecity.>", "dying", commit_then_die)
            await asyncio.sleep(4)
            return runs
        finally:
            await bus.delete_stream()
            await bus.close()

    assert asyncio.run(asyncio.wait_for(scenario(), timeout=120)) == [1]


def test_unreachable_nats_is_a_clear_error() -> None:
    from onecity.core.errors import Unavailable

    async def scenario() -> None:
        await NatsBus("nats://127.0.0.1:1", stream="X").connect()

    with pytest.raises(Unavailable, match="cannot reach NATS"):
        asyncio.run(scenario())
