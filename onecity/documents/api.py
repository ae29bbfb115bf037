"""``POST /api/v1/documents/read``: OCR and extract an uploaded scan for a member of staff.

OCR runs in the process's document workers (:class:`~onecity.documents.pipeline.Reader`, one
worker thread by default): the route awaits the worker's future, so the event loop keeps
serving other requests while a page is read, and the pool size bounds how much of the CPU
OCR may take however many uploads arrive.

**No transaction is open while a page is read.** The request's own transaction (it
authenticated the caller) is committed before the upload goes to the worker — on SQLite every
transaction holds the one write lock from its first statement (``BEGIN IMMEDIATE``), so
awaiting OCR inside it would stop every other writer for seconds. The worker reads and writes
the OCR cache (by the upload's SHA-256) in its own short transactions
(:class:`~onecity.documents.ocr.DbOcrCache`), and the read is audited afterwards in one more
short transaction, with the upload's hash (not its content): a scan of an ID card is personal
data passing through the platform. The route is async (it awaits the worker), so its own
database work, the commit and the audit, runs in a thread: a commit waiting for SQLite's
writer must not stop the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from onecity.api.deps import DatabaseDep, PrincipalDep, SessionDep
from onecity.core import audit, policy
from onecity.core.db import Database
from onecity.core.errors import InvalidInput
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import Role
from onecity.documents.extract import DOC_TYPES
from onecity.documents.ocr import MAX_BYTES, DbOcrCache
from onecity.documents.pipeline import Reading, shared_reader

router = APIRouter(tags=["documents"])
TypeField = Annotated[str | None, Form(alias="type", description="document type; detected when omitted")]

policy.register_actions(
    {
        "documents.read": frozenset({Role.COUNTER_CLERK, Role.REVIEWER, Role.APPROVER}),
    }
)


@router.post("/documents/read", summary="Read an uploaded scan or PDF: type, fields with confidence and region, text")
async def read_document(
    principal: PrincipalDep,
    session: SessionDep,
    db: DatabaseDep,
    file: Annotated[UploadFile, File(description="the scan, photo (JPEG, PNG, TIFF) or PDF")],
    doc_type: TypeField = None,
) -> dict[str, Any]:
    policy.require(principal, "documents.read")
    if doc_type is not None and doc_type not in DOC_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(DOC_TYPES)}, or omitted to detect it")
    data = await file.read(MAX_BYTES + 1)
    # end the request's transaction (it only authenticated the caller) before the slow part:
    # nothing may hold SQLite's write lock while a page is recognised
    await asyncio.to_thread(session.commit)
    reading = await asyncio.wrap_future(shared_reader().submit(data, doc_type, cache=DbOcrCache(db)))
    await asyncio.to_thread(_audit_read, db, principal, reading)
    return reading.as_json()


def _audit_read(db: Database, principal: Principal, reading: Reading) -> None:
    with db.transaction() as audit_session:
        audit.record(
            audit_session,
            principal,
            "documents.upload.read",
            object_type="document",
            object_id=reading.sha256,
            detail={
                "type": reading.extraction.doc_type,
                "cached": reading.cached,
                "pages": reading.page_count,
                "fields_read": sum(1 for f in reading.extraction.fields.values() if f.value is not None),
            },
        )
