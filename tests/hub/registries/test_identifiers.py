"""GB 11643 resident ID numbers and GB 32100 credit codes: real examples, and properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onecity.hub.registries.identifiers import (
    ID_CHECK_CHARS,
    USCC_ALPHABET,
    InvalidIdentifier,
    make_resident_id,
    make_uscc,
    organisation_code_check_char,
    validate_resident_id,
    validate_uscc,
)

# The two examples printed in GB 11643-1999 itself.
STANDARD_IDS = [
    ("11010519491231002X", "110105", date(1949, 12, 31), "F"),
    ("440524188001010014", "440524", date(1880, 1, 1), "M"),
]
# Credit codes of well-known firms, as printed on their business licences.
REAL_USCCS = [
    "914403001922038216",  # 华为技术有限公司
    "91330100716105852F",  # 阿里巴巴(中国)有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91110000802100433B",
]  # 北京百度网讯科技有限公司


@pytest.mark.parametrize(("number", "region", "born", "sex"), STANDARD_IDS)
def test_standard_examples_validate(number: str, region: str, born: date, sex: str) -> None:
    rid = validate_resident_id(number)
    assert (rid.region, rid.birth_date, rid.sex) == (region, born, sex)
    assert make_resident_id(region, born, rid.sequence) == number


@pytest.mark.parametrize("code", REAL_USCCS)
def test_real_credit_codes_validate(code: str) -> None:
    cc = validate_uscc(code)
    assert cc.kind == "91" and code.startswith(cc.kind + cc.region + cc.organisation_code)
    assert make_uscc(cc.kind, cc.region, cc.organisation_code[:8]) == code


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check character is 1, expected X"),
        ("11010519491231002x", "17 digits and a check character"),
        ("11010519490231002X", "not a calendar date"),
        ("990105194912310020", "not a county-level"),
        ("1101051949123100", "17 digits"),
    ],
)
def test_bad_resident_ids_are_refused_with_a_reason(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        validate_resident_id(number)


def test_future_birth_date_is_refused() -> None:
    number = make_resident_id("310104", date(2030, 1, 1), 11)
    with pytest.raises(InvalidIdentifier, match="out of range"):
        validate_resident_id(number, today=date(2026, 1, 1))


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("914403001922038217", "check character is 7, expected 6"),
        ("914403001922038316", "organisation code check character"),
        ("9144030019220382I6", "18 characters"),
        ("Z14403001922038216", "18 characters"),
        ("974403001922038216", "not a registration authority"),
    ],
)
def test_bad_credit_codes_are_refused_with_a_reason(code: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        validate_uscc(code)


regions = st.sampled_from(["310101", "310115", "310151", "340121", "110105", "440524", "650102"])
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))


@given(regions, births, st.integers(0, 999))
def test_made_ids_validate_and_carry_their_parts(region: str, born: date, seq: int) -> None:
    rid = validate_resident_id(make_resident_id(region, born, seq))
    assert (rid.region, rid.birth_date, rid.sequence) == (region, born, seq)
    assert rid.sex == ("M" if seq % 2 else "F")


@given(regions, births, st.integers(0, 999), st.sampled_from(ID_CHECK_CHARS))
def test_any_other_check_char_is_refused_not_corrected(region: str, born: date, seq: int, wrong: str) -> None:
    number = make_resident_id(region, born, seq)
    if wrong == number[17]:
        return
    with pytest.raises(InvalidIdentifier, match="check character"):
        validate_resident_id(number[:17] + wrong)


@given(regions, births, st.integers(0, 999), st.integers(0, 16), st.integers(1, 9))
def test_a_single_digit_typo_is_caught(region: str, born: date, seq: int, pos: int, delta: int) -> None:
    number = make_resident_id(region, born, seq)
    typo = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    with pytest.raises(InvalidIdentifier):
        validate_resident_id(typo)


org_bodies = st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8)
kinds = st.sampled_from(["91", "92", "93", "11", "12", "51", "52", "53", "Y1"])


@given(kinds, st.sampled_from(["310000", "310104", "310115", "440300"]), org_bodies)
def test_made_credit_codes_validate(kind: str, region: str, body: str) -> None:
    code = make_uscc(kind, region, body)
    cc = validate_uscc(code)
    assert (cc.kind, cc.region, cc.organisation_code) == (kind, region, body + organisation_code_check_char(body))


@given(kinds, org_bodies, st.sampled_from(USCC_ALPHABET))
def test_any_other_final_char_is_refused(kind: str, body: str, wrong: str) -> None:
    code = make_uscc(kind, "310115", body)
    if wrong == code[17]:
        return
    with pytest.raises(InvalidIdentifier, match="check character"):
        validate_uscc(code[:17] + wrong)


@given(kinds, org_bodies, st.integers(8, 16), st.sampled_from(USCC_ALPHABET))
def test_a_single_character_typo_is_caught(kind: str, body: str, pos: int, other: str) -> None:
    code = make_uscc(kind, "310115", body)
    if other == code[pos]:
        return
    with pytest.raises(InvalidIdentifier):
        validate_uscc(code[:pos] + other + code[pos + 1 :])
