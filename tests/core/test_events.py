"""The outbox: rolled-back events never leave, committed ones reach every consumer once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select, text

from onecity.core import events
from onecity.core.bus.base import Delivery
from onecity.core.bus.consumer import idempotent
from onecity.core.bus.memory import MemoryBus
from onecity.core.bus.relay import OutboxRelay
from onecity.core.db import Database, new_id_sql, ordered_id, ordered_id_sql, reserve_ordered
from onecity.core.errors import InvalidInput
from onecity.core.events import Envelope, OutboxMessage, ProcessedMessage
from tests.conftest import SYSTEM
from tests.web_support import app_of


class Pinged(BaseModel):
    n: int


PINGED = events.event_type("test.ping.sent", Pinged)


def _publish(db: Database, n: int, *, fail: bool = False) -> None:
    with db.transaction() as session:
        events.publish(session, PINGED, Pinged(n=n), principal=SYSTEM, reason="test")
        if fail:
            raise RuntimeError("rolled back on purpose")


def test_event_names_must_be_namespaced() -> None:
    with pytest.raises(ValueError, match="namespaced"):
        events.event_type("ping", Pinged)


def test_payload_type_is_checked(db: Database) -> None:
    class Other(BaseModel):
        x: int

    with db.transaction() as session, pytest.raises(TypeError):
        events.publish(session, PINGED, Other(x=1), principal=SYSTEM, reason="t")  # type: ignore[misc]  # the wrong payload on purpose


def test_an_event_carries_a_reason_of_2000_characters_and_refuses_a_longer_one(db: Database) -> None:
    """Callers pass what people wrote (a refusal's grounds, up to 2,000 characters); the outbox
    kept 300 and PostgreSQL refused the insert with a 500."""
    grounds = "不符合法定条件。" * 250
    assert len(grounds) == events.REASON_MAX
    with db.transaction() as session:
        events.publish(session, PINGED, Pinged(n=1), principal=SYSTEM, reason=grounds)
    with db.sessions() as session:
        stored = session.scalars(select(OutboxMessage.reason)).all()
    assert stored == [grounds]
    with pytest.raises(InvalidInput, match="at most 2000 characters"), db.transaction() as session:
        events.publish(session, PINGED, Pinged(n=2), principal=SYSTEM, reason=grounds + "!")
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_a_batch_writes_the_rows_one_event_would_and_refuses_what_one_event_would(db: Database) -> None:
    """``publish_many`` builds each row with ``message_row``, as ``publish`` does: the same columns, ids in
    the order given, and the same refusals, raised before anything of the batch is written."""
    with db.transaction() as session:
        events.publish(session, PINGED, Pinged(n=0), principal=SYSTEM, reason="one")
        assert events.publish_many(session, PINGED, [(Pinged(n=n), f"batch {n}") for n in (1, 2)], principal=SYSTEM)
        assert session.info["outbox_written"] is True
    with db.sessions() as session:
        rows = session.execute(
            select(
                OutboxMessage.subject, OutboxMessage.event_type, OutboxMessage.actor, OutboxMessage.payload
            ).order_by(OutboxMessage.id)
        ).all()
    assert [r.payload for r in rows] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert len({(r.subject, r.event_type, r.actor) for r in rows}) == 1
    with pytest.raises(InvalidInput, match="at most 2000"), db.transaction() as session:
        events.publish_many(
            session, PINGED, [(Pinged(n=3), "ok"), (Pinged(n=4), "x" * (events.REASON_MAX + 1))], principal=SYSTEM
        )

    class Other(BaseModel):
        x: int

    with pytest.raises(TypeError), db.transaction() as session:
        wrong: list[tuple[Any, str]] = [(Pinged(n=5), "ok"), (Other(x=1), "no")]
        events.publish_many(session, PINGED, wrong, principal=SYSTEM)
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 3


def test_rolled_back_event_is_never_delivered_and_committed_one_once(db: Database) -> None:
    async def scenario() -> list[int]:
        bus = MemoryBus()
        received: list[int] = []

        def handle(session: object, env: Envelope) -> None:
            received.append(env.typed(PINGED).n)

        await bus.subscribe("onecity.test.>", "test-consumer", idempotent(db, "test-consumer", handle))
        relay = OutboxRelay(db, bus, poll_seconds=0.05)
        with pytest.raises(RuntimeError):
            _publish(db, 1, fail=True)
        _publish(db, 2)
        await relay.relay_once()
        # a relay that crashed after publishing, before marking, sends the same rows again
        with db.transaction() as session:
            for row in session.scalars(select(OutboxMessage)):
                row.published_at = None
        await relay.relay_once()
        await asyncio.sleep(0.2)
        await bus.close()
        return received

    assert asyncio.run(scenario()) == [2]
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert session.scalar(select(func.count()).select_from(ProcessedMessage)) == 1


def test_failing_handler_gets_the_message_again(db: Database) -> None:
    async def scenario() -> list[int]:
        bus = MemoryBus(retry_delay=0.01)
        attempts: list[int] = []

        async def flaky(delivery: Delivery) -> None:
            attempts.append(delivery.attempt)
            if delivery.attempt < 3:
                raise RuntimeError("transient")

        await bus.subscribe("onecity.>", "flaky", flaky)
        await bus.publish("onecity.test.ping.sent", b"{}", "m1")
        for _ in range(100):
            if len(attempts) >= 3:
                break
            await asyncio.sleep(0.01)
        await bus.close()
        return attempts

    assert asyncio.run(scenario()) == [1, 2, 3]


def test_each_durable_consumer_group_gets_its_own_copy() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        bus = MemoryBus()
        a: list[str] = []
        b: list[str] = []

        async def ha(d: Delivery) -> None:
            a.append(d.message_id)

        async def hb(d: Delivery) -> None:
            b.append(d.message_id)

        await bus.subscribe("onecity.>", "group-a", ha)
        await bus.subscribe("onecity.test.*.sent", "group-b", hb)
        await bus.publish("onecity.test.ping.sent", b"{}", "m1")
        await bus.publish("onecity.other.thing.happened", b"{}", "m2")
        await asyncio.sleep(0.05)
        await bus.close()
        return a, b

    a, b = asyncio.run(scenario())
    assert a == ["m1", "m2"]
    assert b == ["m1"]


def test_app_relays_committed_events_after_commit(client: TestClient, db: Database) -> None:
    """The relay runs inside the app: an event published in a request reaches the bus."""
    import time

    bus = app_of(client).state.bus
    _publish(db, 7)
    # the relay publishes, then marks the row sent in its own transaction: wait for both
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with db.sessions() as session:
            marked = session.scalar(select(OutboxMessage.published_at)) is not None
        if bus.published and marked:
            break
        time.sleep(0.02)
    assert bus.published == 1
    assert marked


def test_every_event_type_is_declared_in_an_events_module() -> None:
    """What a part tells the others is read in one place: its ``events.py`` (core's own: identity's)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "onecity"
    misplaced = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "events.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
                if name == "event_type":
                    misplaced.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    assert misplaced == []


def test_ordered_ids_are_uuid7_and_sort_as_made() -> None:
    ids = [ordered_id() for _ in range(10_000)]  # many within one millisecond: the counter orders them
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids[:50])


def test_ids_made_by_the_database_have_the_forms_python_gives(db: Database) -> None:
    """``new_id_sql`` is a version-4 UUID as ``new_id`` writes it; ``ordered_id_sql`` at places of a
    reserved block sorts in place order, after the ids made before and before those made after."""
    before = ordered_id()
    first = reserve_ordered(5000)  # more than one millisecond's 4,096 places
    with db.transaction() as s:
        dialect = s.get_bind().dialect.name
        made = [
            tuple(row)
            for row in s.execute(
                text(
                    f"SELECT {new_id_sql(dialect)}, {ordered_id_sql(f'{first} + n', dialect)} FROM (SELECT 0 AS n "
                    + "".join(f" UNION ALL SELECT {n}" for n in (1, 4095, 4096, 4999))
                    + ") AS places ORDER BY n"
                )
            )
        ]
    after = ordered_id()
    ordered = [o for _, o in made]
    assert [before, *ordered, after] == sorted([before, *ordered, after]) and len(set(ordered)) == 5
    for random_id, place_id in made:
        assert str(uuid.UUID(random_id)) == random_id and uuid.UUID(random_id).version == 4
        assert str(uuid.UUID(place_id)) == place_id and uuid.UUID(place_id).version == 7
        assert uuid.UUID(random_id).variant == uuid.UUID(place_id).variant == uuid.RFC_4122


def _stdlib_bytes(env: Envelope) -> bytes:
    """What envelopes were before orjson (and what consumers of other versions expect)."""
    import json

    return json.dumps(env.__dict__, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _envelope(payload: dict[str, Any]) -> Envelope:
    return Envelope(ordered_id(), "core.test.happened", "2036-01-02T03:04:05+08:00", "user:1", "理由", payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"message": "水位 4.82 m ≥ 4.50 m (橙色预警)", "emoji": "😀", "controls": 'a\nb\t"c"\\\x00\x7f\u2028</x>'},
        {"big": 2**64, "small": -(2**63) - 1, "u64": 2**64 - 1, "i64": -(2**63), "huge": 10**40, "ids": [10**19, 1]},
        {"optional": None, "flags": [True, False], "nested": {"几": [{"深": [1, 2.5, -0.0]}]}},
        {"nan": float("nan"), "inf": float("inf"), "neg": float("-inf")},
        {"floats": [0.1, 1e16, 1e-7, 1.5e300, 123456789.125, 5e-324], "text": "1234567890123456789012"},
    ],
)
def test_an_envelope_reads_back_as_it_was_and_as_the_standard_library_wrote_it(payload: dict[str, Any]) -> None:
    """Envelopes travel between processes of different versions: the bytes (orjson) must read back the
    same values here and through the standard library, and the standard library's bytes must read here."""
    import json
    import math

    env = _envelope(payload)

    def same(a: Any, b: Any) -> bool:  # NaN is not equal to itself
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
            return math.isnan(b)
        if isinstance(a, dict):
            return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list):
            return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        return type(a) is type(b) and a == b

    data = env.to_bytes()
    reads = (Envelope.from_bytes(data).__dict__, json.loads(data), Envelope.from_bytes(_stdlib_bytes(env)).__dict__)
    for read in reads:
        assert same(read, env.__dict__)
    assert data.decode("utf-8").count("\\u") == _stdlib_bytes(env).decode("utf-8").count("\\u")  # non-ASCII as itself


def test_an_envelope_of_plain_text_and_small_numbers_is_the_standard_librarys_bytes() -> None:
    env = _envelope({"case_id": "c-1", "division_code": "310104000000", "count": 3, "上海": ["徐汇", True]})
    assert env.to_bytes() == _stdlib_bytes(env)
