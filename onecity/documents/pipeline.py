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

from PIL import Image

from onecity.documents.extract import Extraction, extract, probes, with_lines
from onecity.documents.ocr import (
    OcrCache,
    OcrEngine,
    OcrLine,
    OcrResult,
    RapidOcrEngine,
    content_hash,
    decode_image,
    recognise_bytes,
)


@dataclass(frozen=True)
class Reading:
    sha256: str
    ocr: OcrResult
    extraction: Extraction
    cached: bool
    #: pages read (a PDF or multi-page TIFF has several; a photo one)
    page_count: int = 1

    def as_json(self) -> dict[str, Any]:
        """The shape ``onecity documents read --json`` prints: type, fields with value and
        confidence (plus region and flags), and the text lines in reading order."""
        out = self.extraction.as_json()
        out["sha256"] = self.sha256
        out["ocr"] = {"engine": self.ocr.engine, "seconds": self.ocr.seconds, "cached": self.cached}
        return out


def read(data: bytes, doc_type: str | None = None, *, engine: OcrEngine, cache: OcrCache | None = None) -> Reading:
    """OCR (or the cache) then extraction; ``doc_type`` None means detect it.

    A value the page-level detector missed or read only in part (a date under the red seal)
    gets a second look: its line, or the band right of its label, is cut out, its red ink
    dropped (the red channel alone), enlarged and recognised as one line (no detection), and
    the page is extracted again with that line added. The added lines carry their own scores, so a field
    read this way is as confident as the recogniser was.
    """
    result, cached = recognise_bytes(data, engine, cache)
    ex = extract(result, doc_type)
    looks = probes(result, ex)
    if looks:
        image = decode_image(data)
        extra = []
        for box in looks.values():
            # the red channel alone: red seal ink turns white, black and blue-black print stays dark
            red = image.crop(box).split()[0]
            crop = Image.merge("RGB", (red, red, red)).resize((red.width * 2, red.height * 2), Image.Resampling.BICUBIC)
            text, score = engine.recognise_line(crop)
            if text.strip() and score >= 0.5:
                x0, y0, x1, y1 = (float(v) for v in box)
                extra.append(OcrLine(text.strip(), score, ((x0, y0), (x1, y0), (x1, y1), (x0, y1))))
        if extra:
            result = with_lines(result, extra)
            ex = extract(result, ex.doc_type)
    return Reading(content_hash(data), result, ex, cached)


class Reader:
    """Reads documents in worker threads, each with its own OCR engine built on first use."""

    def __init__(
        self,
        engine_factory: Callable[[], OcrEngine] = RapidOcrEngine,
        *,
        workers: int = 1,
        cache: OcrCache | None = None,
    ) -> None:
        self._factory = engine_factory
        self._cache = cache
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="onecity-documents")
        self._pending = 0
        self._pending_lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet finished (running or queued): the workers' backlog."""
        with self._pending_lock:
            return self._pending

    def run(self, job: Callable[[], Any]) -> Future[Any]:
        """Run ``job`` on the workers, counted in :attr:`pending`."""
        with self._pending_lock:
            self._pending += 1
        future = self._executor.submit(job)

        def done(_: Future[Any]) -> None:
            with self._pending_lock:
                self._pending -= 1

        future.add_done_callback(done)
        return future

    def _engine(self) -> OcrEngine:
        engine: OcrEngine | None = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._factory()
            self._local.engine = engine
        return engine

    def submit(self, data: bytes, doc_type: str | None = None, *, cache: OcrCache | None = None) -> Future[Reading]:
        """Read ``data`` in a worker; ``cache`` overrides the reader's own (a server passes its database's)."""
        use = cache if cache is not None else self._cache
        return self.run(lambda: read(data, doc_type, engine=self._engine(), cache=use))

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared_lock = threading.Lock()
_shared: Reader | None = None


def shared_reader() -> Reader:
    """The process's document workers (one thread: OCR's share of the CPU), started on first use;
    the API's reads and the services pre-review queue on the same workers."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Reader(workers=1)
        return _shared
