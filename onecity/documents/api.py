"""``POST /api/v1/documents/read``: OCR and extract an uploaded scan for a member of staff.

OCR runs in the process's document workers (:class:`~onecity.documents.pipeline.Reader`, one
worker thread by default): the route awaits the worker's future, so the event loop keeps
serving other requests while a page is read, and the pool size bounds how much of the CPU
OCR may take however many uploads arrive. Results are cached by the upload's SHA-256 in the
database, read and written in the request's own transaction
(:class:`~onecity.documents.ocr.SessionOcrCache`). The read is audited with the upload's
hash (not its content): a scan of an ID card is personal data passing through the platform.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from onecity.api.deps import DatabaseDep, PrincipalDep, SessionDep
from onecity.core import audit, policy
from onecity.core.errors import InvalidInput
from onecity.core.identity.roles import Role
from onecity.documents.extract import DOC_TYPES
from onecity.documents.ocr import MAX_BYTES, MemoryOcrCache, RapidOcrEngine, SessionOcrCache, content_hash
from onecity.documents.pipeline import shared_reader

router = APIRouter(tags=["documents"])
TypeField = Annotated[str | None, Form(alias="type", description="document type; detected when omitted")]

policy.register_actions(
    {
        "documents.read": frozenset({Role.COUNTER_CLERK, Role.REVIEWER, Role.APPROVER}),
    }
)


@router.post("/documents/read", summary="Read an uploaded scan: type, fields with confidence and region, text")
async def read_document(
    principal: PrincipalDep,
    session: SessionDep,
    db: DatabaseDep,
    file: Annotated[UploadFile, File(description="the scan or photo (JPEG, PNG, TIFF)")],
    doc_type: TypeField = None,
) -> dict[str, Any]:
    policy.require(principal, "documents.read")
    if doc_type is not None and doc_type not in DOC_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(DOC_TYPES)}, or omitted to detect it")
    data = await file.read(MAX_BYTES + 1)
    digest = content_hash(data)
    # the cache is read and written in this request's transaction, never by the worker while we
    # wait (on SQLite every transaction holds the write lock); the worker gets what we know
    cache = SessionOcrCache(session)
    known = cache.get(digest, RapidOcrEngine.name)
    handed = MemoryOcrCache()
    if known is not None:
        handed.put(digest, known)
    reading = await asyncio.wrap_future(shared_reader().submit(data, doc_type, cache=handed))
    recognised = handed.get(digest, RapidOcrEngine.name)
    if known is None and recognised is not None:
        cache.put(digest, recognised)
    audit.record(
        session,
        principal,
        "documents.upload.read",
        object_type="document",
        object_id=reading.sha256,
        detail={
            "type": reading.extraction.doc_type,
            "cached": reading.cached,
            "fields_read": sum(1 for f in reading.extraction.fields.values() if f.value is not None),
        },
    )
    return reading.as_json()
