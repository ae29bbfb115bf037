"""One call from uploaded bytes to extracted fields, synchronous or in the OCR workers.

:func:`read` is the synchronous path (the CLI, the benchmark, a worker); :class:`Reader` puts
the same work on an :class:`~onecity.documents.ocr.OcrPool`-style thread pool and hands back a
``Future`` so a request handler never waits on OCR with the event loop blocked (an async route
awaits ``asyncio.wrap_future(reader.submit(...))``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from onecity.documents.extract import Extraction, detect_type, extract, merge_pages, probes, with_lines
from onecity.documents.ocr import (
    OcrCache,
    OcrEngine,
    OcrLine,
    OcrResult,
    RapidOcrEngine,
    content_hash,
    decode_image,
    is_pdf,
    pdf_pages,
    recognise_bytes,
    recognise_image,
)


@dataclass(frozen=True)
class Reading:
    sha256: str
    ocr: OcrResult
    extraction: Extraction
    cached: bool
    #: pages read (a PDF has several; a photo one)
    page_count: int = 1
    #: each page's own extraction, when there are several (``extraction`` merges them)
    pages: tuple[Extraction, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The shape ``onecity documents read --json`` prints: type, fields with value and
        confidence (plus region, page and flags), and the text lines in reading order."""
        out = self.extraction.as_json()
        out["sha256"] = self.sha256
        out["ocr"] = {"engine": self.ocr.engine, "seconds": self.ocr.seconds, "cached": self.cached}
        out["pages"] = self.page_count
        return out


def seal_region(page: Image.Image) -> tuple[int, int, int, int] | None:
    """The box of the red seal in the lower half of the page (where an issue date is stamped
    over), or None: pixels clearly red (red well above green and blue), the densest rows and
    columns of them, so a red title or a few red specks elsewhere do not count."""
    small = page.reduce(4) if min(page.size) >= 400 else page
    arr = np.asarray(small.convert("RGB")).astype(np.int16)
    r, g, b = arr[:, :, 0], arr[:, :, 1], arr[:, :, 2]
    red = (r > 120) & (r - g > 50) & (r - b > 40)
    top = red.shape[0] // 2
    red[:top] = False
    if red.sum() < 0.002 * red.size:
        return None
    ys, xs = np.nonzero(red)
    x0, x1 = np.percentile(xs, (3, 97))
    y0, y1 = np.percentile(ys, (3, 97))
    k = page.width / small.width
    return int(x0 * k), int(y0 * k), int(x1 * k) + 1, int(y1 * k) + 1


def under_the_seal(page: Image.Image, engine: OcrEngine) -> list[OcrLine]:
    """The text under (and just left of) the seal, recognised again with the seal's red ink
    dropped (the red channel alone): an issue date the page-level reading lost under it."""
    seal = seal_region(page)
    if seal is None:
        return []
    x0, y0, x1, y1 = seal
    w, h = x1 - x0, y1 - y0
    box = (
        max(0, int(x0 - 1.2 * w)),
        max(0, int(y0 - 0.3 * h)),
        min(page.width, int(x1 + 0.4 * w)),
        min(page.height, int(y1 + 0.5 * h)),
    )
    red = page.crop(box).split()[0]
    found = engine.recognise(Image.merge("RGB", (red, red, red)))
    dx, dy = box[0], box[1]
    return [
        OcrLine(ln.text, ln.score, tuple((x + dx, y + dy) for x, y in ln.quad))  # type: ignore[arg-type]
        for ln in found.lines
        if ln.text.strip() and ln.score >= 0.5
    ]


#: A line the recogniser read with less confidence than this is read again on its own (see :func:`reread`).
DOUBTFUL = 0.9
#: at most this many lines of a page are read again (the least confident first)
REREAD_LIMIT = 12
_CODE_LIKE = re.compile(r"[0-9A-Z]{15,}")


def reread(result: OcrResult, image: Callable[[], Image.Image], engine: OcrEngine) -> OcrResult:
    """Lines read with little confidence (a motion-blurred or copied label: 坐落 read as 影币 at
    0.87) read again on their own: the line's box cut out with a margin, its red ink dropped,
    enlarged, recognised without detection. Two readings of the same pixels: the one the
    recogniser is surer of is kept, nothing is made up. Lines that hold a code (15 or more
    letters and digits in a row) are left as read — a code's second reading is chosen only by
    its check character, and never changes that character (:func:`~onecity.documents.extract.checked`)."""
    doubtful = sorted(
        (
            i
            for i, ln in enumerate(result.lines)
            if ln.score < DOUBTFUL and ln.text.strip() and not _CODE_LIKE.search(ln.text.upper().replace(" ", ""))
        ),
        key=lambda i: result.lines[i].score,
    )[:REREAD_LIMIT]
    if not doubtful:
        return result
    page = image()
    lines = list(result.lines)
    for i in doubtful:
        ln = lines[i]
        x0, y0, x1, y1 = ln.rect
        pad = 0.25 * (y1 - y0)
        box = (
            max(0, int(x0 - pad)),
            max(0, int(y0 - pad)),
            min(page.width, int(x1 + pad)),
            min(page.height, int(y1 + pad)),
        )
        if box[2] - box[0] < 4 or box[3] - box[1] < 4:
            continue
        red = page.crop(box).split()[0]
        crop = Image.merge("RGB", (red, red, red)).resize((red.width * 2, red.height * 2), Image.Resampling.BICUBIC)
        text, score = engine.recognise_line(crop)
        if text.strip() and score > ln.score and not _CODE_LIKE.search(text.upper().replace(" ", "")):
            lines[i] = OcrLine(text.strip(), score, ln.quad)
    return OcrResult(result.engine, result.width, result.height, tuple(lines), result.seconds)


def _second_look(
    result: OcrResult, ex: Extraction, image: Callable[[], Image.Image], engine: OcrEngine
) -> tuple[OcrResult, Extraction]:
    """Values the page-level detector missed or read in part, looked at again one line at a time;
    an issue date still missing after that, under the seal with its red ink dropped."""
    decoded: list[Image.Image] = []

    def once() -> Image.Image:
        if not decoded:
            decoded.append(image())
        return decoded[0]

    looks = probes(result, ex)
    if looks:
        result, ex = _lines_again(result, ex, looks, once, engine)
    issued = ex.fields.get("issued_on")
    if issued is not None and issued.value is None and ex.doc_type in SEALED_DATE:
        extra = under_the_seal(once(), engine)
        if extra:
            result = with_lines(result, extra)
            ex = extract(result, ex.doc_type)
    return result, ex


#: Types whose issue date is printed at the foot, where the issuer's seal is stamped over it.
SEALED_DATE = frozenset({"business_licence", "food_business_licence", "real_estate_certificate"})


def _lines_again(
    result: OcrResult,
    ex: Extraction,
    looks: dict[str, tuple[int, int, int, int]],
    image: Callable[[], Image.Image],
    engine: OcrEngine,
) -> tuple[OcrResult, Extraction]:
    page = image()
    extra: list[OcrLine] = []
    for box in looks.values():
        # the red channel alone: red seal ink turns white, black and blue-black print stays dark
        red = page.crop(box).split()[0]
        crop = Image.merge("RGB", (red, red, red)).resize((red.width * 2, red.height * 2), Image.Resampling.BICUBIC)
        # the text's own boxes in the band first (a band also holds table rules and margins, which
        # a one-line reading takes for strokes: 用途 read as 用 with the cell's border in it)
        found = [ln for ln in engine.recognise(crop).lines if ln.text.strip() and ln.score >= 0.5]
        if found:
            extra.extend(
                OcrLine(ln.text.strip(), ln.score, tuple((box[0] + x / 2, box[1] + y / 2) for x, y in ln.quad))  # type: ignore[arg-type]
                for ln in found
            )
        # and the band read as one line, as before: a date under a seal is found one way or the other
        text, score = engine.recognise_line(crop)
        if text.strip() and score >= 0.5:
            x0, y0, x1, y1 = (float(v) for v in box)
            extra.append(OcrLine(text.strip(), score, ((x0, y0), (x1, y0), (x1, y1), (x0, y1))))
    if not extra:
        return result, ex
    result = with_lines(result, extra)
    return result, extract(result, ex.doc_type)


def _once(load: Callable[[], Image.Image]) -> Callable[[], Image.Image]:
    """``load`` called the first time only (an upload decoded once for every second look)."""
    kept: list[Image.Image] = []

    def get() -> Image.Image:
        if not kept:
            kept.append(load())
        return kept[0]

    return get


def _constant(image: Image.Image) -> Callable[[], Image.Image]:
    return lambda: image


def read(data: bytes, doc_type: str | None = None, *, engine: OcrEngine, cache: OcrCache | None = None) -> Reading:
    """OCR (or the cache, or a PDF's text layer) then extraction; ``doc_type`` None means detect it.

    A PDF is read page by page — from its text when it has a text layer, else rendered and
    recognised — its type detected over all pages and each field taken from the first page
    that has it. A value the page-level detector missed or read only in part (a date under the
    red seal) gets a second look: its line, or the band right of (or under) its label, is cut
    out, its red ink dropped (the red channel alone), enlarged and recognised as one line (no
    detection), and the page is extracted again with that line added. The added lines carry
    their own scores, so a field read this way is as confident as the recogniser was.
    """
    digest = content_hash(data)
    pages: list[tuple[OcrResult, Callable[[], Image.Image] | None, bool]] = []
    if is_pdf(data):
        for pg in pdf_pages(data):
            if pg.text is not None:
                pages.append((pg.text, None, False))
            else:
                assert pg.image is not None
                key = content_hash(f"{digest}:page{pg.number}".encode())
                result, hit = recognise_image(pg.image, key, engine, cache)
                pages.append((result, _constant(pg.image), hit))
    else:
        result, hit = recognise_bytes(data, engine, cache)
        pages.append((result, _once(lambda: decode_image(data)), hit))
    # doubtful lines read again before anything is decided from them (the type, the fields)
    pages = [
        (reread(result, image, engine) if image is not None else result, image, hit) for result, image, hit in pages
    ]
    if doc_type is None:
        doc_type, _ = detect_type([ln for result, _, _ in pages for ln in result.lines])
    read_pages: list[tuple[OcrResult, Extraction]] = []
    for result, image, _ in pages:
        ex = extract(result, doc_type)
        if image is not None:
            result, ex = _second_look(result, ex, image, engine)
        read_pages.append((result, ex))
    cached = all(hit for _, _, hit in pages)
    if len(read_pages) == 1:
        result, ex = read_pages[0]
        return Reading(digest, result, ex, cached)
    merged = merge_pages([ex for _, ex in read_pages])
    return Reading(digest, read_pages[0][0], merged, cached, len(read_pages), tuple(ex for _, ex in read_pages))


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
