"""The corpus generator: deterministic by seed, truth from the registry, forgeries that differ
from the registry exactly as their kind says."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from onecity.core.errors import InvalidInput
from onecity.hub.registries.identifiers import InvalidIdentifier, validate_resident_id, validate_uscc
from onecity.synth.corpus import FIELDS, FORGERIES, Generator, Roster, plan
from onecity.synth.corpus.layouts import amount_in_words


def test_the_same_seed_draws_the_same_document_to_the_byte(corpus_roster: Roster) -> None:
    a = Generator(corpus_roster, seed=11).sample(4, "business_licence", degradations=("rotation", "noise"))
    b = Generator(corpus_roster, seed=11).sample(4, "business_licence", degradations=("rotation", "noise"))
    c = Generator(corpus_roster, seed=12).sample(4, "business_licence", degradations=("rotation", "noise"))
    assert a.image == b.image and a.truth == b.truth
    assert c.image != a.image
    assert a.image[:8] == b"\x89PNG\r\n\x1a\n"
    jpeg = Generator(corpus_roster, seed=11).sample(5, "id_card", degradations=("jpeg",))
    assert jpeg.media_type == "image/jpeg" and jpeg.image[:2] == b"\xff\xd8"


def test_genuine_documents_print_what_the_registry_holds(corpus_roster: Roster) -> None:
    gen = Generator(corpus_roster, seed=3)
    licence = gen.sample(0, "business_licence")
    firm = corpus_roster.firm(licence.truth["uscc"])
    assert firm is not None and validate_uscc(licence.truth["uscc"])
    assert licence.truth["name"] == firm.name and licence.truth["established_on"] == firm.established_on.isoformat()
    assert set(licence.fields()) == set(FIELDS["business_licence"])
    assert all(name in licence.regions for name in FIELDS["business_licence"])
    card = gen.sample(1, "id_card")
    person = corpus_roster.person(card.truth["id_number"])
    assert person is not None and card.truth["name"] == person.name
    assert validate_resident_id(card.truth["id_number"]).birth_date.isoformat() == card.truth["birth_date"]
    invoice = gen.sample(2, "invoice")
    assert f"{float(invoice.truth['amount']) + float(invoice.truth['tax']):.2f}" == invoice.truth["total"]


def test_forgeries_differ_from_the_registry_as_their_kind_says(corpus_roster: Roster) -> None:
    gen = Generator(corpus_roster, seed=3)
    bad = gen.sample(7, "business_licence", forgery="bad_check_digit")
    with pytest.raises(InvalidIdentifier, match="check character"):
        validate_uscc(bad.truth["uscc"])
    assert bad.holder_identifier is not None
    assert bad.truth["uscc"][:17] == bad.holder_identifier[:17] and bad.truth["uscc"] != bad.holder_identifier
    other = gen.sample(8, "business_licence", forgery="other_holder")
    validate_uscc(other.truth["uscc"])  # a valid code…
    owner = corpus_roster.firm(other.truth["uscc"])
    assert owner is not None and owner.name != other.truth["name"]  # …of another firm
    renamed = gen.sample(9, "id_card", forgery="name_mismatch")
    person = corpus_roster.person(renamed.truth["id_number"])
    assert person is not None and renamed.truth["name"] != person.name
    assert len(renamed.truth["name"]) == len(person.name)
    revoked = gen.sample(10, "business_licence", forgery="revoked")
    assert any(
        c.number == revoked.certificate_number and c.status == "revoked"
        for c in corpus_roster.certs_of("business_licence")
    )
    expired = gen.sample(11, "id_card", forgery="expired")
    cert = next(c for c in corpus_roster.certs_of("id_card") if c.number == expired.certificate_number)
    assert cert.status == "expired" or (cert.valid_until is not None and cert.valid_until < date(2026, 1, 1))
    edited = gen.sample(12, "business_licence", forgery="edited_date")
    firm = corpus_roster.firm(edited.holder_identifier or "")
    assert firm is not None and edited.truth["established_on"] != firm.established_on.isoformat()
    with pytest.raises(LookupError):
        gen.sample(13, "invoice", forgery="revoked")


def test_a_plan_mixes_types_degradations_and_every_forgery_kind() -> None:
    rows = plan(240, 1)
    assert Counter(t for _, t, _, _ in rows) == Counter({t: 40 for t in FIELDS})
    assert 0.35 < sum(1 for *_, d, _ in rows if d) / 240 < 0.65
    kinds = Counter(f for *_, f in rows if f)
    assert set(kinds) == set(FORGERIES)
    assert plan(240, 1) == rows


def test_amounts_in_words_as_invoices_print_them() -> None:
    assert amount_in_words("13727.31") == "壹万叁仟柒佰贰拾柒圆叁角壹分"
    assert amount_in_words("1005.00") == "壹仟零伍圆整"
    assert amount_in_words("100500") == "壹拾万零伍佰圆整"
    assert amount_in_words("80.10") == "捌拾圆壹角整"


def test_an_unknown_type_is_refused(corpus_roster: Roster) -> None:
    with pytest.raises(ValueError, match="unknown document type"):
        Generator(corpus_roster, seed=1).sample(0, "passport")
    assert issubclass(InvalidIdentifier, InvalidInput)
