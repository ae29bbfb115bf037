"""One call from uploaded bytes to extracted fields, synchronous or in the OCR workers.

:func:`read` is the synchronous path (the CLI, the benchmark, a worker); :class:`Reader` puts
the same work on an :class:`~onecity.documents.ocr.OcrPool`-style thread pool and hands back a
``Future`` so a request handler never waits on OCR with the event loop blocked (an async route
awaits ``asyncio.wrap_future(reader.submit(...))``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from onecity.documents.extract import Extraction, extract
from onecity.documents.ocr import OcrCache, OcrEngine, OcrResult, RapidOcrEngine, content_hash, recognise_bytes


@dataclass(frozen=True)
class Reading:
    sha256: str
    ocr: OcrResult
    extraction: Extraction
    cached: bool

    def as_json(self) -> dict[str, Any]:
        """The shape ``onecity documents read --json`` prints: type, fields with value and
        confidence (plus region and flags), and the text lines in reading order."""
        out = self.extraction.as_json()
        out["sha256"] = self.sha256
        out["ocr"] = {"engine": self.ocr.engine, "seconds": self.ocr.seconds, "cached": self.cached}
        return out


def read(data: bytes, doc_type: str | None = None, *, engine: OcrEngine, cache: OcrCache | None = None) -> Reading:
    """OCR (or the cache) then extraction; ``doc_type`` None means detect it."""
    result, cached = recognise_bytes(data, engine, cache)
    return Reading(content_hash(data), result, extract(result, doc_type), cached)


class Reader:
    """Reads documents in worker threads, each with its own OCR engine built on first use."""

    def __init__(self, engine_factory: Callable[[], OcrEngine] = RapidOcrEngine, *, workers: int = 1,
                 cache: OcrCache | None = None) -> None:
        self._factory = engine_factory
        self._cache = cache
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="onecity-documents")

    def _engine(self) -> OcrEngine:
        engine: OcrEngine | None = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._factory()
            self._local.engine = engine
        return engine

    def submit(self, data: bytes, doc_type: str | None = None) -> Future[Reading]:
        return self._executor.submit(lambda: read(data, doc_type, engine=self._engine(), cache=self._cache))

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
