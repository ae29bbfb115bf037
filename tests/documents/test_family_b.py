"""The second family of printings: generated apart from the first, and read by the same reader."""

from __future__ import annotations

from onecity.documents.extract import parse_date
from onecity.documents.ocr import decode_image
from onecity.documents.pipeline import read, seal_region, under_the_seal
from onecity.synth.corpus import FIELDS, Generator, Roster, family_b, plan
from tests.documents.conftest import Ocr


def test_family_b_is_deterministic_and_prints_its_own_layouts(corpus_roster: Roster) -> None:
    a = Generator(corpus_roster, seed=3).sample(0, "business_licence")
    b = Generator(corpus_roster, seed=3, family="b").sample(0, "business_licence")
    again = Generator(corpus_roster, seed=3, family="b").sample(0, "business_licence")
    assert b.image == again.image and b.image != a.image
    assert set(b.fields()) == set(a.fields()) and all(b.fields().values())  # the same fields, other documents
    names = {d for _, _, ds, _ in plan(60, 1, family="b") for d in ds}
    assert names <= set(family_b.DEGRADATIONS) and len(names) >= 5
    for kind in ("kai", "song", "hei"):
        assert family_b.faces(kind)


def test_a_family_b_licence_and_id_card_read_exactly(corpus_roster: Roster, ocr: Ocr) -> None:
    gen = Generator(corpus_roster, seed=7, family="b")
    for index, doc_type in ((0, "business_licence"), (2, "id_card")):
        sample = gen.sample(index, doc_type)
        ex = read(sample.image, engine=ocr.engine, cache=ocr.cache).extraction
        assert ex.doc_type == doc_type
        assert {k: ex.value(k) for k in FIELDS[doc_type]} == sample.fields()


def test_the_seal_is_found_over_the_issue_date_and_the_date_is_read_under_it(corpus_roster: Roster, ocr: Ocr) -> None:
    """Both families stamp the issuer's seal over the issue date; the red ink dropped, the date
    under it reads whole (the second look for an issue date the page-level reading lost)."""
    for family, index, doc_type in (("a", 0, "business_licence"), ("b", 3, "real_estate_certificate")):
        sample = Generator(corpus_roster, seed=7, family=family).sample(index, doc_type)
        page = decode_image(sample.image)
        seal = seal_region(page)
        assert seal is not None, (family, doc_type)
        date_box = sample.regions["issued_on"]
        assert seal[0] < date_box[2] and date_box[0] < seal[2] and seal[1] < date_box[3] and date_box[1] < seal[3]
    letter = Generator(corpus_roster, seed=7, family="b").sample(5, "application_letter")
    assert seal_region(decode_image(letter.image)) is None  # no seal, nothing to look under
    under = under_the_seal(page, ocr.engine)
    assert sample.truth["issued_on"] in {parse_date(ln.text) for ln in under}
