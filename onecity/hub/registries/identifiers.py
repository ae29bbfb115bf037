"""National identifiers with check characters: GB 11643 resident IDs and GB 32100 credit codes.

Both are validated strictly: a wrong check character is an error naming the character that was
expected, never silently "corrected", because a mistyped number that is corrected becomes
someone else's number. ``make_*`` builds a valid identifier from its parts (the seed
generator has its own vectorised twin in :mod:`onecity.synth.registries.generate`, tested to
agree with these), ``validate_*`` raises :class:`InvalidIdentifier` with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from onecity.core.errors import InvalidInput


class InvalidIdentifier(InvalidInput):
    """An ID number or credit code that is malformed or fails its check character."""


#: Two-digit province codes of GB/T 2260 (mainland, plus 71 Taiwan, 81 Hong Kong, 82 Macao,
#: which appear on residence permits for those residents).
PROVINCE_CODES: frozenset[str] = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    }
)

# -- GB 11643-1999 citizen identity number --------------------------------------------------

#: ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 for the 17 body digits.
ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: Check character for (weighted sum mod 11) = index.
ID_CHECK_CHARS = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
#: The earliest birth date a valid number can carry (the standard's own example is 1880).
EARLIEST_BIRTH = date(1850, 1, 1)


def resident_id_check_char(body17: str) -> str:
    """The MOD 11-2 check character of the first 17 digits."""
    if len(body17) != 17 or not body17.isdigit():
        raise InvalidIdentifier(f"an ID number body is 17 digits, got {body17!r}")
    return ID_CHECK_CHARS[sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class ResidentId:
    """The parts of a GB 11643 number."""

    number: str
    region: str
    birth_date: date
    sequence: int
    sex: str  # "M" when the sequence is odd, "F" when even


def make_resident_id(region: str, birth_date: date, sequence: int) -> str:
    """Build an 18-character ID number; ``sequence`` (0–999) carries the sex in its parity."""
    if not (len(region) == 6 and region.isdigit() and region[:2] in PROVINCE_CODES):
        raise InvalidIdentifier(f"region code {region!r} must be a 6-digit GB/T 2260 code of a province")
    if not 0 <= sequence <= 999:
        raise InvalidIdentifier(f"sequence {sequence} must be 0–999")
    body = f"{region}{birth_date:%Y%m%d}{sequence:03d}"
    return body + resident_id_check_char(body)


def validate_resident_id(number: str, *, today: date | None = None) -> ResidentId:
    """Parse and check an ID number; raise :class:`InvalidIdentifier` saying what is wrong.

    A lower-case ``x`` is refused rather than upper-cased: the standard writes ``X``, and a
    registry that stores both spellings cannot enforce uniqueness.
    """
    if not isinstance(number, str) or not _ID_RE.match(number):
        raise InvalidIdentifier(f"ID number {number!r} must be 17 digits and a check character 0-9 or X")
    region = number[:6]
    if region[:2] not in PROVINCE_CODES or region[2:] == "0000":
        raise InvalidIdentifier(f"ID number {number}: {region} is not a county-level GB/T 2260 region code")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifier(f"ID number {number}: {number[6:14]} is not a calendar date") from None
    if born < EARLIEST_BIRTH or (today is not None and born > today):
        raise InvalidIdentifier(f"ID number {number}: birth date {born.isoformat()} is out of range")
    expected = resident_id_check_char(number[:17])
    if number[17] != expected:
        raise InvalidIdentifier(f"ID number {number}: check character is {number[17]}, expected {expected}")
    seq = int(number[14:17])
    return ResidentId(number, region, born, seq, "M" if seq % 2 else "F")


# -- GB 11714-1997 organisation code and GB 32100-2015 unified social credit code ---------------

#: The 31 characters a credit code may use (no I, O, S, V, Z: they read like digits).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
#: Weights 3^i mod 31 for the 17 body characters.
USCC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)

#: Registration authority (first character) → organisation kinds (second character) it issues,
#: with their names (GB 32100-2015 table 1).
USCC_KINDS: dict[str, str] = {
    "11": "机关",
    "12": "事业单位",
    "13": "中央编办直接管理机构编制的群众团体",
    "19": "其他机构编制",
    "21": "外国常驻新闻机构",
    "29": "其他外交",
    "31": "司法行政律师执业机构",
    "32": "公证处",
    "33": "基层法律服务所",
    "34": "司法鉴定机构",
    "35": "仲裁委员会",
    "39": "其他司法行政",
    "41": "外国在华文化中心",
    "49": "其他文化",
    "51": "社会团体",
    "52": "民办非企业单位",
    "53": "基金会",
    "59": "其他民政",
    "61": "外国旅游部门常驻代表机构",
    "62": "港澳台地区旅游部门常驻内地代表机构",
    "69": "其他旅游",
    "71": "宗教活动场所",
    "72": "宗教院校",
    "79": "其他宗教",
    "81": "基层工会",
    "89": "其他工会",
    "91": "企业",
    "92": "个体工商户",
    "93": "农民专业合作社",
    "A1": "军队事业单位",
    "A9": "其他中央军委改革和编制办公室",
    "N1": "农村集体经济组织",
    "N2": "农村集体经济组织联合社",
    "N9": "其他农业农村",
    "Y1": "其他",
}
_USCC_RE = re.compile(rf"^[{USCC_ALPHABET}]{{18}}$")


def _org_value(c: str) -> int:
    """GB 11714 character value: digits as themselves, letters A=10 … Z=35."""
    return int(c) if c.isdigit() else ord(c) - 55


def organisation_code_check_char(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code body (0-9, X)."""
    if len(body8) != 8 or not all(c.isdigit() or "A" <= c <= "Z" for c in body8):
        raise InvalidIdentifier(f"an organisation code body is 8 characters 0-9/A-Z, got {body8!r}")
    c = 11 - sum(_org_value(ch) * w for ch, w in zip(body8, ORG_WEIGHTS, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check_char(body17: str) -> str:
    """GB 32100 check character (MOD 31) of the first 17 characters."""
    if len(body17) != 17 or any(c not in _USCC_VALUE for c in body17):
        raise InvalidIdentifier(f"a credit code body is 17 characters of {USCC_ALPHABET}, got {body17!r}")
    c = 31 - sum(_USCC_VALUE[ch] * w for ch, w in zip(body17, USCC_WEIGHTS, strict=True)) % 31
    return USCC_ALPHABET[0 if c == 31 else c]


@dataclass(frozen=True)
class CreditCode:
    """The parts of a GB 32100 unified social credit code."""

    code: str
    kind: str  # registration authority + organisation kind, e.g. "91"
    region: str
    organisation_code: str


def make_uscc(kind: str, region: str, org_body: str) -> str:
    """Build a credit code from its kind (e.g. "91"), 6-digit region and 8-character org body."""
    if kind not in USCC_KINDS:
        raise InvalidIdentifier(f"{kind!r} is not a GB 32100 registration authority and organisation kind")
    if not (len(region) == 6 and region.isdigit() and region[:2] in PROVINCE_CODES):
        raise InvalidIdentifier(f"region code {region!r} must be a 6-digit GB/T 2260 code")
    if any(c not in _USCC_VALUE for c in org_body):
        raise InvalidIdentifier(f"organisation code body {org_body!r} uses characters outside {USCC_ALPHABET}")
    org = org_body + organisation_code_check_char(org_body)
    body = kind + region + org
    return body + uscc_check_char(body)


def validate_uscc(code: str) -> CreditCode:
    """Parse and check a credit code; raise :class:`InvalidIdentifier` saying what is wrong."""
    if not isinstance(code, str) or not _USCC_RE.match(code):
        raise InvalidIdentifier(f"credit code {code!r} must be 18 characters of {USCC_ALPHABET}")
    kind, region, org = code[:2], code[2:8], code[8:17]
    if kind not in USCC_KINDS:
        raise InvalidIdentifier(f"credit code {code}: {kind} is not a registration authority and organisation kind")
    if not region.isdigit() or region[:2] not in PROVINCE_CODES:
        raise InvalidIdentifier(f"credit code {code}: {region} is not a GB/T 2260 region code")
    if not all(c.isdigit() or "A" <= c <= "Z" for c in org[:8]):
        raise InvalidIdentifier(f"credit code {code}: organisation code {org} has invalid characters")
    org_expected = organisation_code_check_char(org[:8])
    if org[8] != org_expected:
        raise InvalidIdentifier(
            f"credit code {code}: organisation code check character is {org[8]}, expected {org_expected}"
        )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidIdentifier(f"credit code {code}: check character is {code[17]}, expected {expected}")
    return CreditCode(code, kind, region, org)
