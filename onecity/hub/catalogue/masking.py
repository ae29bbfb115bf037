"""Masking rules: how a personal field is shown when a grant shares it masked.

A catalogue field names its rule (``DatasetField.masking``); the sharing query applies it
to every value it returns unless the grant lists the field as unmasked. The rules keep
what a case worker needs to recognise a record and nothing that identifies a person on
its own: ``310***********123X`` (region and check digits), ``张*``, ``138****5678``, an
address cut back to the residential community.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

STAR = "*"


class Masking(StrEnum):
    ID_NUMBER = "id_number"  # first 3 and last 4 characters kept
    NAME = "name"  # family name kept
    PHONE = "phone"  # first 3 and last 4 digits kept
    ADDRESS = "address"  # cut back to the community (needs the record's division)
    DATE = "date"  # year kept
    REGION = "region"  # province (first 2 digits) kept
    REDACT = "redact"  # nothing kept

    @property
    def label_en(self) -> str:
        return MASKING_LABELS[self][1]

    @property
    def label_zh(self) -> str:
        return MASKING_LABELS[self][0]


MASKING_LABELS: dict[Masking, tuple[str, str]] = {
    Masking.ID_NUMBER: ("保留前3位和后4位", "first 3 and last 4 characters kept"),
    Masking.NAME: ("保留姓氏", "family name kept"),
    Masking.PHONE: ("保留前3位和后4位", "first 3 and last 4 digits kept"),
    Masking.ADDRESS: ("仅显示到居村", "cut back to the community"),
    Masking.DATE: ("仅显示年份", "year only"),
    Masking.REGION: ("仅显示省级", "province only"),
    Masking.REDACT: ("完全遮蔽", "fully hidden"),
}


def _keep_ends(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return STAR * len(value)
    return value[:head] + STAR * (len(value) - head - tail) + value[len(value) - tail :]


def _name(value: str) -> str:
    return value[:1] + STAR * max(len(value) - 1, 1)


def _date(value: Any) -> str:
    if isinstance(value, datetime | date):
        return f"{value.year:04d}"
    return str(value)[:4]


def _region(value: str) -> str:
    return value[:2] + STAR * (len(value) - 2)


Community = Callable[[str], str | None]


def mask(rule: str | None, value: Any, *, division_code: str | None = None, community: Community | None = None) -> Any:
    """``value`` masked by ``rule``; None stays None (there is nothing to hide).

    ``community(division_code)`` gives the full name of the record's community (district,
    township and community names), which an address is cut back to; without it the
    address is fully hidden rather than guessed at.
    """
    if value is None:
        return None
    match Masking(rule) if rule else Masking.REDACT:
        case Masking.ID_NUMBER:
            return _keep_ends(str(value), 3, 4)
        case Masking.NAME:
            return _name(str(value))
        case Masking.PHONE:
            return _keep_ends(str(value), 3, 4)
        case Masking.ADDRESS:
            name = community(division_code) if community and division_code else None
            return f"{name}{STAR * 3}" if name else STAR * 3
        case Masking.DATE:
            return _date(value)
        case Masking.REGION:
            return _region(str(value))
        case Masking.REDACT:
            return STAR * 3


def is_rule(value: str) -> bool:
    return value in Masking._value2member_map_
