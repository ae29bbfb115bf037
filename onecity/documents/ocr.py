"""OCR behind one interface, cached by content hash, run in workers off the request path.

* :class:`OcrEngine` is the protocol an engine implements: ``recognise(image) -> OcrResult``
  with lines of text, a confidence and a quadrilateral each. :class:`RapidOcrEngine` adapts
  rapidocr 3, whose PP-OCR ONNX models ship inside the wheel: nothing is downloaded, ever
  (``tests/documents`` runs it under ``unshare -n``). Another engine (a vendor's, a newer
  PaddleOCR) implements the same protocol and nothing else changes.
* Results are cached by the SHA-256 of the uploaded bytes and the engine's name
  (:class:`DbOcrCache`, table ``documents_ocr_cache``): the same scan uploaded again, by a
  resubmission or a second application, is never recognised twice.
* :class:`onecity.documents.pipeline.Reader` runs recognition and extraction in a small thread
  pool (onnxruntime releases the GIL while it computes), each thread with its own engine;
  callers get a ``Future`` — an API route awaits it with ``asyncio.wrap_future`` and the event
  loop stays free. Threads rather than processes: the models load once per thread (~0.3 s), no
  pickling of images, and the pool size (default 1 worker with 1 onnxruntime thread) is what
  bounds OCR's share of the CPU. One intra-op thread, not two: on a shared machine a second
  thread spends its time spin-waiting for the first (24 pages at load ≈ 18: 1.27 CPU-seconds and
  6.2 s a page p50 with one thread, 1.99 and 8.8 s with two; ``docs/documents.md``).
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.errors import InvalidInput, Unavailable
from onecity.documents.models import OcrCacheEntry

MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 64

Point = tuple[float, float]
Rect = tuple[int, int, int, int]


@dataclass(frozen=True)
class OcrLine:
    """One recognised line: its text, the recogniser's confidence (0–1) and its quadrilateral
    (top-left, top-right, bottom-right, bottom-left, in image pixels)."""

    text: str
    score: float
    quad: tuple[Point, Point, Point, Point]

    @property
    def rect(self) -> Rect:
        xs, ys = [p[0] for p in self.quad], [p[1] for p in self.quad]
        return int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))

    @property
    def height(self) -> float:
        (x0, y0), _, _, (x3, y3) = self.quad
        return float(((x3 - x0) ** 2 + (y3 - y0) ** 2) ** 0.5)

    @property
    def centre(self) -> Point:
        return (sum(p[0] for p in self.quad) / 4, sum(p[1] for p in self.quad) / 4)

    @property
    def slope(self) -> float:
        """dy/dx of the top edge: how much the page is rotated at this line."""
        (x0, y0), (x1, y1) = self.quad[0], self.quad[1]
        return (y1 - y0) / (x1 - x0) if x1 != x0 else 0.0


@dataclass(frozen=True)
class OcrResult:
    engine: str
    width: int
    height: int
    lines: tuple[OcrLine, ...]
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "width": self.width,
            "height": self.height,
            "seconds": self.seconds,
            "lines": [{"text": ln.text, "score": ln.score, "quad": [list(p) for p in ln.quad]} for ln in self.lines],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OcrResult:
        lines = tuple(
            OcrLine(str(d["text"]), float(d["score"]), tuple((float(p[0]), float(p[1])) for p in d["quad"]))  # type: ignore[arg-type]
            for d in data["lines"]
        )
        return cls(str(data["engine"]), int(data["width"]), int(data["height"]), lines, float(data["seconds"]))


class OcrEngine(Protocol):
    """What an OCR engine offers the platform: a name (part of the cache key), recognition of a
    page, and recognition of one line already cut out (no detection: the "second look" at a
    value the page-level detector missed, such as a one-character 女)."""

    name: str

    def recognise(self, image: Image.Image) -> OcrResult: ...

    def recognise_line(self, image: Image.Image) -> tuple[str, float]: ...


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_image(data: bytes) -> Image.Image:
    """The uploaded bytes as an RGB image, or an :class:`InvalidInput` saying what is wrong."""
    if not data:
        raise InvalidInput("the upload is empty: attach a scan or photo of the document")
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the image is {len(data) // 1024} KB; upload at most {MAX_BYTES // (1024 * 1024)} MB")
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise InvalidInput(f"the image is {img.width}×{img.height} pixels; scan at 300 dpi or less")
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
        raise InvalidInput("the upload is not a readable image: send a JPEG, PNG or TIFF scan") from err
    if min(img.size) < MIN_SIDE:
        raise InvalidInput(f"the image is only {img.width}×{img.height} pixels: too small to read")
    return img.convert("RGB")


class RapidOcrEngine:
    """rapidocr 3 with its bundled PP-OCR models (detection, direction, recognition; Chinese and English)."""

    name = "rapidocr-3"
    #: the detector's input: the page's long side scaled to this many pixels (a 150 dpi A4 page
    #: or a phone photo; text stays ≥ 12 px high), larger for high-resolution scans (≤ 40 % of
    #: the side), never upscaled. rapidocr's default ("min side ≥ 736") ran the detector on the
    #: full page, half of a page's time.
    DETECTOR_SIDE = 960

    def __init__(self, threads: int = 1) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as err:  # pragma: no cover - a broken install
            raise Unavailable("OCR is unavailable: the rapidocr package is not installed") from err
        self._ocr = RapidOCR(
            params={
                "Global.log_level": "warning",
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                "Det.limit_type": "max",
                "Det.limit_side_len": self.DETECTOR_SIDE,
            }
        )

    def _size_detector(self, image: Image.Image) -> None:
        side = max(image.size)
        det = getattr(self._ocr, "text_det", None)
        if det is not None:  # built on first use; the size is read on every call
            det.limit_side_len = int(min(side, max(self.DETECTOR_SIDE, 0.4 * side)))

    def recognise(self, image: Image.Image) -> OcrResult:
        start = time.perf_counter()
        arr = np.asarray(image.convert("RGB"))[:, :, ::-1].copy()  # rapidocr works in BGR like OpenCV
        self._size_detector(image)
        try:
            out: Any = self._ocr(arr, use_det=True, use_cls=True, use_rec=True)  # explicit: the flags persist
        except Exception as err:  # a vendor failure becomes the platform's "unavailable"
            raise Unavailable(f"the OCR engine failed on this image: {err}") from err
        lines: list[OcrLine] = []
        if out.boxes is not None and out.txts is not None:
            for quad, text, score in zip(out.boxes, out.txts, out.scores or (), strict=True):
                q = tuple((float(x), float(y)) for x, y in quad)
                lines.append(OcrLine(str(text), float(score), q))  # type: ignore[arg-type]
        return OcrResult(self.name, image.width, image.height, tuple(lines), round(time.perf_counter() - start, 4))

    def recognise_line(self, image: Image.Image) -> tuple[str, float]:
        arr = np.asarray(image.convert("RGB"))[:, :, ::-1].copy()
        try:
            out: Any = self._ocr(arr, use_det=False, use_cls=False, use_rec=True)
        except Exception as err:
            raise Unavailable(f"the OCR engine failed on a line: {err}") from err
        if not out.txts:
            return "", 0.0
        return str(out.txts[0]), float(out.scores[0])


# -- cache ------------------------------------------------------------------------------------------


class OcrCache(Protocol):
    def get(self, sha256: str, engine: str) -> OcrResult | None: ...

    def put(self, sha256: str, result: OcrResult) -> None: ...


class MemoryOcrCache:
    """A per-process cache (the CLI without a database, the benchmark's warm pass)."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], OcrResult] = {}
        self._lock = threading.Lock()

    def get(self, sha256: str, engine: str) -> OcrResult | None:
        with self._lock:
            return self._data.get((sha256, engine))

    def put(self, sha256: str, result: OcrResult) -> None:
        with self._lock:
            self._data[(sha256, result.engine)] = result


class DbOcrCache:
    """The shared cache in the platform's database: every worker and server sees one another's results.

    OCR output is not personal data in itself any more than the upload is; it is kept beside
    the upload's hash only, never the image, and it carries no subject. Each get/put is its
    own short transaction, so a cache write never holds a lock while an image is recognised.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, sha256: str, engine: str) -> OcrResult | None:
        with self.db.reading() as session:  # a reader's session: on SQLite it takes no write lock
            row = session.scalar(
                select(OcrCacheEntry).where(OcrCacheEntry.sha256 == sha256, OcrCacheEntry.engine == engine)
            )
            return OcrResult.from_json(row.result) if row is not None else None

    def put(self, sha256: str, result: OcrResult) -> None:
        try:
            with self.db.transaction() as session:
                session.add(
                    OcrCacheEntry(
                        sha256=sha256,
                        engine=result.engine,
                        width=result.width,
                        height=result.height,
                        seconds=result.seconds,
                        result=json.loads(json.dumps(result.as_json())),
                        created_at=clock.now(),
                    )
                )
        except IntegrityError:
            pass  # another worker recognised the same bytes first: its result is as good as ours


# -- PDFs -------------------------------------------------------------------------------------------

MAX_PAGES = 20
#: pixels per PDF point a page without text is rendered at (150 dpi: what the recogniser reads well)
PDF_SCALE = 150 / 72
#: an engine name for lines taken from a PDF's text layer (nothing was recognised)
PDF_TEXT = "pdf-text"


def is_pdf(data: bytes) -> bool:
    return data.lstrip()[:5] == b"%PDF-"


@dataclass(frozen=True)
class PdfPage:
    """One page of an uploaded PDF: its text layer as lines (``text``), or its image to recognise."""

    number: int
    text: OcrResult | None
    image: Image.Image | None


def pdf_pages(data: bytes) -> list[PdfPage]:
    """Every page of a PDF: read from its text layer when it has one (an export from the issuing
    system: the strings and their places, nothing to recognise), else rendered at 150 dpi."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the PDF is {len(data) // 1024} KB; upload at most {MAX_BYTES // (1024 * 1024)} MB")
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        raise InvalidInput("the upload is not a readable PDF: export or scan it again") from err
    try:
        if len(doc) == 0:
            raise InvalidInput("the PDF has no pages")
        if len(doc) > MAX_PAGES:
            raise InvalidInput(f"the PDF has {len(doc)} pages; upload at most {MAX_PAGES} (the document's own pages)")
        out = []
        for index in range(len(doc)):
            page = doc[index]
            text = _text_layer(page, index)
            if text is not None:
                out.append(PdfPage(index + 1, text, None))
                continue
            w, h = page.get_size()
            scale = min(PDF_SCALE, (MAX_PIXELS / max(1.0, w * h)) ** 0.5)
            image = page.render(scale=scale).to_pil().convert("RGB")
            if min(image.size) < MIN_SIDE:
                raise InvalidInput(f"page {index + 1} of the PDF is too small to read")
            out.append(PdfPage(index + 1, None, image))
        return out
    finally:
        doc.close()


def _text_layer(page: Any, index: int) -> OcrResult | None:
    """The page's text runs as lines in pixel coordinates at :data:`PDF_SCALE`, or None when the
    page has (almost) no text: a scan, to be rendered and recognised."""
    start = time.perf_counter()
    textpage = page.get_textpage()
    try:
        whole = textpage.get_text_range()
        if sum(ch.isalnum() for ch in whole) < 8:
            return None
        w, h = page.get_size()
        lines = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(left, bottom, right, top).strip()
            if not text:
                continue
            x0, x1 = left * PDF_SCALE, right * PDF_SCALE
            y0, y1 = (h - top) * PDF_SCALE, (h - bottom) * PDF_SCALE
            lines.append(OcrLine(text, 1.0, ((x0, y0), (x1, y0), (x1, y1), (x0, y1))))
    finally:
        textpage.close()
    size = (int(w * PDF_SCALE), int(h * PDF_SCALE))
    return OcrResult(PDF_TEXT, size[0], size[1], tuple(lines), round(time.perf_counter() - start, 4))


def recognise_image(
    image: Image.Image, key: str, engine: OcrEngine, cache: OcrCache | None = None
) -> tuple[OcrResult, bool]:
    """(result, served from cache) for a decoded image (a PDF's page) cached under ``key``."""
    if cache is not None:
        hit = cache.get(key, engine.name)
        if hit is not None:
            return hit, True
    result = engine.recognise(image)
    if cache is not None:
        cache.put(key, result)
    return result, False


def recognise_bytes(data: bytes, engine: OcrEngine, cache: OcrCache | None = None) -> tuple[OcrResult, bool]:
    """(result, served from cache) for the uploaded bytes; the image is validated before OCR."""
    digest = content_hash(data)
    if cache is not None:
        hit = cache.get(digest, engine.name)
        if hit is not None:
            return hit, True
    result = engine.recognise(decode_image(data))
    if cache is not None:
        cache.put(digest, result)
    return result, False
