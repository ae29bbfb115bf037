"""Idempotency keys: a retried create answers with the first result, in the create's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from onecity.core import clock, housekeeping, idempotency
from onecity.core.config import Settings
from onecity.core.db import Database
from onecity.core.errors import InvalidInput
from onecity.core.idempotency import IdempotencyRecord, KeyReused


def test_claim_store_replay_and_refuse_a_different_request(db: Database) -> None:
    fp = idempotency.fingerprint("POST", "/x", {"a": 1})
    with db.transaction() as s:
        assert idempotency.claim(s, "user:1", "k-1", "POST /x", fp) is None
        idempotency.store(s, "user:1", "k-1", 201, "application/json", '{"id":"1"}')
    with db.transaction() as s:
        stored = idempotency.claim(s, "user:1", "k-1", "POST /x", fp)
        assert stored == idempotency.Stored(201, "application/json", '{"id":"1"}')
        with pytest.raises(KeyReused, match="different request"):
            idempotency.claim(s, "user:1", "k-1", "POST /x", idempotency.fingerprint("POST", "/x", {"a": 2}))
        with pytest.raises(KeyReused, match="POST /x"):
            idempotency.claim(s, "user:1", "k-1", "POST /y", fp)
        # keys belong to their principal: another caller's same key is a new request
        assert idempotency.claim(s, "user:2", "k-1", "POST /x", fp) is None
    # a create that failed leaves nothing behind: the retry runs again
    with pytest.raises(RuntimeError), db.transaction() as s:
        assert idempotency.claim(s, "user:1", "k-2", "POST /x", fp) is None
        raise RuntimeError("the create failed")
    with db.transaction() as s:
        assert idempotency.claim(s, "user:1", "k-2", "POST /x", fp) is None
    for bad in ("", " ", "x" * 256, "ключ", "a\nb"):
        with db.transaction() as s, pytest.raises(InvalidInput, match="Idempotency-Key"):
            idempotency.claim(s, "user:1", bad, "POST /x", fp)


def test_housekeeping_forgets_old_keys(db: Database, settings: Settings) -> None:
    fp = idempotency.fingerprint("POST", "/x", None)
    with clock.frozen(datetime(2026, 11, 1, tzinfo=UTC)) as advance:
        with db.transaction() as s:
            idempotency.claim(s, "user:1", "old", "POST /x", fp)
            idempotency.store(s, "user:1", "old", 201, "application/json", "{}")
        advance(timedelta(hours=25).total_seconds())
        with db.transaction() as s:
            idempotency.claim(s, "user:1", "new", "POST /x", fp)
            idempotency.store(s, "user:1", "new", 201, "application/json", "{}")
        trimmed = housekeeping.trim(db, settings)
    assert trimmed.idempotency_keys == 1
    with db.sessions() as s:
        assert list(s.scalars(select(IdempotencyRecord.key))) == ["new"]
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_a_retry_racing_the_first_request_waits_for_it_and_replays(db: Database) -> None:
    """The first request holds its claim (uncommitted) while the retry arrives: the retry must not
    create anything; it waits on the key's primary key (PostgreSQL) or the write lock (SQLite)
    and answers with what the first stored."""
    import threading
    import time

    fp = idempotency.fingerprint("POST", "/x", {"a": 1})
    claimed = threading.Event()
    outcome: list[object] = []

    def first() -> None:
        with db.transaction() as s:
            assert idempotency.claim(s, "user:1", "race", "POST /x", fp) is None
            claimed.set()
            time.sleep(0.5)  # the create takes a while
            idempotency.store(s, "user:1", "race", 201, "application/json", '{"id":"first"}')

    def retry() -> None:
        claimed.wait(10)
        with db.transaction() as s:
            outcome.append(idempotency.claim(s, "user:1", "race", "POST /x", fp))

    threads = [threading.Thread(target=first), threading.Thread(target=retry)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcome == [idempotency.Stored(201, "application/json", '{"id":"first"}')]
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1
