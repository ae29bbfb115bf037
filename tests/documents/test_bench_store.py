"""The documents benchmark's store: a recognition is kept on disk and answered from it the next
time (an interrupted run continues, a change to extraction is re-scored without OCR), and a
document's measured seconds are kept beside it."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from bench._ocr_store import Store, StoredEngine
from onecity.synth.corpus.fonts import font
from tests.documents.conftest import Ocr


def _line(text: str) -> Image.Image:
    image = Image.new("RGB", (420, 60), "white")
    ImageDraw.Draw(image).text((10, 12), text, fill="black", font=font(30))
    return image


def test_a_recognition_is_answered_from_the_store_after_a_restart(ocr: Ocr, tmp_path: Path) -> None:
    path = tmp_path / "ocr.sqlite"
    page, line = _line("统一社会信用代码"), _line("住所：上海市")
    first = StoredEngine(ocr.engine, Store(path), "det960")
    read = first.recognise(page)
    said = first.recognise_line(line)
    assert first.misses == 2 and "信用代码" in "".join(ln.text for ln in read.lines)
    first.store.record("b", 1, 7, "det960", 1.5, 1.2, 1, 3.0)
    first.store.close()

    again = StoredEngine(ocr.engine, Store(path), "det960")  # a new process: same file
    assert again.recognise(page) == read and again.recognise_line(line) == said
    assert again.misses == 0
    assert again.store.timing("b", 1, 7, "det960") == (1.5, 1.2, 1, 3.0)
    assert again.store.timing("a", 1, 7, "det960") is None

    other = StoredEngine(ocr.engine, again.store, "det736")  # other engine settings: recognised again
    other.recognise_line(line)
    assert other.misses == 1
    again.store.close()
