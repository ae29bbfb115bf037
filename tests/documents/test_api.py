"""``POST /api/v1/documents/read``: staff only, problem+json for a bad upload, audited, served
from the database's OCR cache by content hash."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.documents.models import OcrCacheEntry
from onecity.documents.ocr import DbOcrCache, content_hash, recognise_bytes
from onecity.documents.pipeline import shared_reader
from onecity.synth.corpus import Generator, Roster
from tests.documents.conftest import Ocr

URL = "/api/v1/documents/read"


def test_staff_read_a_scan_through_the_workers(
    client: TestClient,
    db: Database,
    make_user: Callable[..., object],
    login: Callable[[str], dict[str, str]],
    corpus_roster: Roster,
    ocr: Ocr,
) -> None:
    sample = Generator(corpus_roster, seed=24).sample(3, "id_card")
    result, _ = recognise_bytes(sample.image, ocr.engine, ocr.cache)  # read by the other tests already
    DbOcrCache(db).put(content_hash(sample.image), result)
    make_user("clerk", Role.COUNTER_CLERK)
    make_user("resident", kind=PrincipalKind.CITIZEN, division_code=None)
    files = {"file": ("card.png", sample.image, "image/png")}
    assert client.post(URL, files=files).status_code == 401
    r = client.post(URL, files=files, headers=login("resident"))
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    headers = login("clerk")
    r = client.post(URL, files=files, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "id_card" and body["ocr"]["cached"] is True
    assert body["fields"]["id_number"]["value"] == sample.truth["id_number"]
    assert body["sha256"] == content_hash(sample.image)
    r = client.post(URL, files={"file": ("x.pdf", b"%PDF-1.7 not a scan", "application/pdf")}, headers=headers)
    assert r.status_code == 422 and "not a readable PDF" in r.json()["detail"]
    r = client.post(URL, files=files, data={"type": "passport"}, headers=headers)
    assert r.status_code == 422 and "type must be one of" in r.json()["detail"]
    with db.sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "documents.upload.read")).all()
    assert [e.object_id for e in entries] == [content_hash(sample.image)]


def test_no_write_lock_is_held_while_a_page_is_read(
    client: TestClient,
    db: Database,
    make_user: Callable[..., object],
    login: Callable[[str], dict[str, str]],
    corpus_roster: Roster,
    ocr: Ocr,
) -> None:
    """While the upload waits for the document worker, another writer commits at once: the route
    ends its request transaction before OCR (SQLite's BEGIN IMMEDIATE would otherwise hold the
    one write lock for the whole read). The worker is kept busy by a job that waits on an event,
    so the read is deterministically in flight when the other writer writes."""
    sample = Generator(corpus_roster, seed=24).sample(3, "id_card")
    result, _ = recognise_bytes(sample.image, ocr.engine, ocr.cache)
    DbOcrCache(db).put(content_hash(sample.image), result)
    make_user("clerk", Role.COUNTER_CLERK)
    headers = login("clerk")
    reader = shared_reader()
    gate = threading.Event()
    blocker = reader.run(gate.wait)
    replies: list[int] = []
    request = threading.Thread(
        target=lambda: replies.append(
            client.post(URL, files={"file": ("card.png", sample.image, "image/png")}, headers=headers).status_code
        )
    )
    try:
        request.start()
        deadline = time.monotonic() + 20
        while reader.pending < 2 and time.monotonic() < deadline:  # the read is queued behind the blocker
            time.sleep(0.02)
        assert reader.pending >= 2, "the upload never reached the document worker"
        start = time.monotonic()
        with db.transaction() as s:  # another writer, while the read is in flight
            s.add(
                OcrCacheEntry(
                    sha256="0" * 64,
                    engine="other-writer",
                    width=1,
                    height=1,
                    seconds=0.0,
                    result={},
                    created_at=clock.now(),
                )
            )
        assert time.monotonic() - start < 2.0
        assert not replies  # the read was still waiting for the worker
    finally:
        gate.set()
        request.join(60)
    blocker.result(5)
    assert replies == [200]
