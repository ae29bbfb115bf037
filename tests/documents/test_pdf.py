"""PDF uploads: a text-layer export read from its text, a scanned multi-page PDF read page by page."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from onecity.core.errors import InvalidInput
from onecity.documents.ocr import PDF_TEXT, pdf_pages
from onecity.documents.pipeline import read
from onecity.synth.corpus import FIELDS, Generator, Roster
from onecity.synth.corpus.family_b import faces
from onecity.synth.corpus.pdf import scan_pdf
from tests.documents.conftest import Ocr


def test_a_text_layer_pdf_is_read_from_its_text(corpus_roster: Roster, ocr: Ocr) -> None:
    sample = Generator(corpus_roster, seed=7, family="b").sample(0, "business_licence", pdf="text")
    assert sample.media_type == "application/pdf"
    (page,) = pdf_pages(sample.image)
    assert page.text is not None and page.image is None  # nothing to render or recognise
    reading = read(sample.image, engine=ocr.engine, cache=ocr.cache)
    assert reading.ocr.engine == PDF_TEXT and reading.extraction.doc_type == "business_licence"
    assert {k: reading.extraction.value(k) for k in FIELDS["business_licence"]} == sample.fields()


def test_a_text_layer_pdf_embeds_only_the_characters_it_prints(corpus_roster: Roster) -> None:
    """A whole CJK face is 10–20 MB: an export embedding two was over the 15 MB an upload may be
    (the benchmark counted it refused). Cut to its characters, as an issuing system's export is."""
    from onecity.documents.ocr import MAX_BYTES

    gen = Generator(corpus_roster, seed=1, family="b")
    for index, doc_type in ((209, "application_letter"), (229, "food_business_licence"), (0, "business_licence")):
        data = gen.sample(index, doc_type, pdf="text").image
        assert len(data) < 200_000 < MAX_BYTES, (index, doc_type, len(data))
        (page,) = pdf_pages(data)
        assert page.text is not None and len(page.text.lines) >= 10


def test_every_page_of_a_scanned_pdf_is_read(corpus_roster: Roster, ocr: Ocr) -> None:
    card = Generator(corpus_roster, seed=24).sample(3, "id_card")
    cover = Image.new("RGB", (1100, 720), "white")
    path, index = faces("hei")[0]
    from PIL import ImageFont

    ImageDraw.Draw(cover).text(
        (100, 300), "身份证复印件（共两页）", font=ImageFont.truetype(str(path), 40, index=index), fill="black"
    )
    data = scan_pdf([cover, Image.open(io.BytesIO(card.image)).convert("RGB")])
    reading = read(data, engine=ocr.engine, cache=ocr.cache)
    assert reading.page_count == 2 and reading.extraction.doc_type == "id_card"
    ex = reading.extraction
    assert {k: ex.value(k) for k in FIELDS["id_card"]} == card.fields()
    assert ex.fields["id_number"].page == 2 and reading.as_json()["pages"] == 2


def test_a_broken_pdf_is_refused_with_a_reason() -> None:
    with pytest.raises(InvalidInput, match="not a readable PDF"):
        pdf_pages(b"%PDF-1.7 not a document")
