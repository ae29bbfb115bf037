"""The registry facts a benefit decision table may read, each twice: as SQL and per record.

A fact is one name a ``.dmn`` input reads (``age``, ``shanghai_hukou``, ``firm_age``…). For the
set-based scan it is a SQL expression over ``persons`` or ``legal_persons``; a certificate fact
(holds a valid certificate of a type) names its type code, and the compiler reads it from the
certificates aggregated once per scan (:mod:`onecity.benefits.compile`), not per row. For the
per-record decision a fact is a plain value computed from one record and its certificates.
Both must say the same thing: ``tests/benefits`` checks it on both backends by comparing the
two scans.

Ages never become SQL arithmetic on dates (which SQLite and PostgreSQL spell differently):
``age >= 60`` compiles to ``birth_date <= cutoff`` with the cutoff computed here, which also
lets the birth-date index answer it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_
from sqlalchemy.orm import InstrumentedAttribute

from onecity.hub.registries.models import (
    HolderKind,
    LegalPerson,
    LegalPersonStatus,
    Person,
    PersonStatus,
)


class Subject(StrEnum):
    PERSON = "person"
    FIRM = "legal_person"


def age_on(born: date, on: date) -> int:
    """Whole years of age on ``on`` (a birthday on 29 February counts on 1 March in common years)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def latest_born(years: int, on: date) -> date:
    """The latest birth date of someone at least ``years`` old on ``on``: ``age_on(b, on) >= years`` ⟺ ``b <= this``."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # on is 29 February and that year is common: born 28 February has had the birthday
        return date(on.year - years, 2, 28)


@dataclass(frozen=True)
class Record:
    """One person's or firm's facts as the per-record decision sees them."""

    row: Any
    #: certificate type codes the holder holds, valid on the day
    certificates: frozenset[str]


Compare = Callable[[str, Any, date], ColumnElement[bool]]


@dataclass(frozen=True)
class Fact:
    name: str
    subject: Subject
    label_zh: str
    label_en: str
    #: the per-record value
    value: Callable[[Record, date], Any]
    #: the SQL comparison ``fact <op> literal`` (op one of == != < <= > >= in notin); None for a
    #: certificate fact, which the compiler reads from the scan's certificate aggregate
    compare: Compare | None
    #: the certificate type a certificate fact asks about (holds one, valid on the day)
    certificate: str | None = None
    #: how dear the SQL test is, for the order of a rule's conditions (dates and numbers 0, a plain
    #: equality 1, a text prefix 2, a certificate 3)
    cost: int = 1


def _ops(column: Any) -> Compare:
    """Plain comparisons of a column (or expression) with a literal."""

    def compare(op: str, value: Any, on: date) -> ColumnElement[bool]:
        return _apply(column, op, value)

    return compare


def _apply(left: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "in":
        member: ColumnElement[bool] = left.in_(list(value))
        return member
    if op == "notin":
        outside: ColumnElement[bool] = not_(left.in_(list(value)))
        return outside
    result: ColumnElement[bool] = {
        "==": lambda: left == value,
        "!=": lambda: left != value,
        "<": lambda: left < value,
        "<=": lambda: left <= value,
        ">": lambda: left > value,
        ">=": lambda: left >= value,
    }[op]()
    return result


def _years_since(column: InstrumentedAttribute[date]) -> Compare:
    """``years_since(column) <op> n`` as a comparison of the date itself with a cutoff."""

    def compare(op: str, value: Any, on: date) -> ColumnElement[bool]:
        if op in ("in", "notin"):
            either = or_(*(compare("==", int(v), on) for v in value)) if value else false()
            return either if op == "in" else not_(either)
        n = int(value)
        at_least = {  # years >= k  ⟺  column <= latest_born(k)
            ">=": lambda: column <= latest_born(n, on),
            ">": lambda: column <= latest_born(n + 1, on),
            "<": lambda: column > latest_born(n, on),
            "<=": lambda: column > latest_born(n + 1, on),
            "==": lambda: and_(column <= latest_born(n, on), column > latest_born(n + 1, on)),
            "!=": lambda: or_(column > latest_born(n, on), column <= latest_born(n + 1, on)),
        }
        result: ColumnElement[bool] = at_least[op]()
        return result

    return compare


def yes_no(cond: ColumnElement[bool], op: str, value: Any) -> ColumnElement[bool]:
    """A yes/no fact ``cond`` compared: only ``== True`` / ``== False`` (and ``!=``) make sense."""
    if op not in ("==", "!=") or not isinstance(value, bool):
        raise ValueError(f"a yes/no fact is compared with True or False, not {op} {value!r}")
    positive = value if op == "==" else not value
    return cond if positive else not_(cond)


def _bool(condition: Callable[[date], ColumnElement[bool]]) -> Compare:
    """A yes/no fact computed from the record's own columns."""

    def compare(op: str, value: Any, on: date) -> ColumnElement[bool]:
        return yes_no(condition(on), op, value)

    return compare


#: Who holds a subject's certificates, as the certificates table names them.
HOLDERS: dict[Subject, HolderKind] = {Subject.PERSON: HolderKind.PERSON, Subject.FIRM: HolderKind.LEGAL_PERSON}


def _cert(name: str, subject: Subject, type_code: str, zh: str, en: str) -> Fact:
    """Holds a valid certificate of ``type_code``."""
    return Fact(name, subject, zh, en, lambda r, on: type_code in r.certificates, None, type_code, cost=3)


def _column(name: str, subject: Subject, zh: str, en: str, column: InstrumentedAttribute[Any]) -> Fact:
    """A column's value as it is."""
    return Fact(name, subject, zh, en, lambda r, on: getattr(r.row, column.key), _ops(column))


def _years(name: str, subject: Subject, zh: str, en: str, column: InstrumentedAttribute[date]) -> Fact:
    """Whole years since a date column (an age)."""
    return Fact(
        name, subject, zh, en, lambda r, on: age_on(getattr(r.row, column.key), on), _years_since(column), cost=0
    )


def _is(name: str, subject: Subject, zh: str, en: str, column: InstrumentedAttribute[Any], value: Any) -> Fact:
    """A status column holds ``value``: yes or no."""
    return Fact(
        name, subject, zh, en, lambda r, on: getattr(r.row, column.key) == value, _bool(lambda on: column == value)
    )


def _in_district(name: str, subject: Subject, zh: str, en: str, column: InstrumentedAttribute[str]) -> Fact:
    """The district (6-digit code) of a community code column."""
    return Fact(name, subject, zh, en, lambda r, on: getattr(r.row, column.key)[:6], _district(column), cost=2)


def _district(column: InstrumentedAttribute[str]) -> Compare:
    """The 6-digit district code of a community code: ``== "310151"`` is a prefix match (index-friendly)."""

    def compare(op: str, value: Any, on: date) -> ColumnElement[bool]:
        if op in ("==", "!=", "in", "notin"):
            values = [value] if op in ("==", "!=") else list(value)
            cond = or_(*(column.startswith(str(v)) for v in values)) if values else false()
            return cond if op in ("==", "in") else not_(cond)
        return _apply(func.substr(column, 1, 6), op, value)

    return compare


FACTS: dict[str, Fact] = {
    f.name: f
    for f in (
        _years("age", Subject.PERSON, "年龄（周岁）", "Age (whole years)", Person.birth_date),
        _column("sex", Subject.PERSON, "性别", "Sex", Person.sex),
        Fact(
            "shanghai_hukou",
            Subject.PERSON,
            "本市户籍",
            "Shanghai household registration",
            lambda r, on: r.row.hukou_region.startswith("31"),
            _bool(lambda on: Person.hukou_region.startswith("31")),
            cost=2,
        ),
        _is(
            "alive", Subject.PERSON, "在世且居住本市", "Alive and living in the city", Person.status, PersonStatus.ALIVE
        ),
        _in_district("district", Subject.PERSON, "居住区", "District of residence", Person.division_code),
        _cert("residence_permit", Subject.PERSON, "residence_permit", "持有效居住证", "Valid residence permit"),
        _cert("married", Subject.PERSON, "marriage_certificate", "已登记结婚", "Registered marriage"),
        _cert("owns_home", Subject.PERSON, "real_estate_certificate", "本市有房产", "Owns a home in the city"),
        _cert("drives", Subject.PERSON, "driving_licence", "持机动车驾驶证", "Holds a driving licence"),
        _cert("senior_card", Subject.PERSON, "senior_citizen_card", "已有敬老卡", "Holds a senior citizen card"),
        _cert(
            "social_security_card", Subject.PERSON, "social_security_card", "已有社保卡", "Holds a social security card"
        ),
        _column(
            "firm_kind",
            Subject.FIRM,
            "主体类型（统一社会信用代码第1-2位）",
            "Kind (credit code digits 1–2)",
            LegalPerson.kind,
        ),
        _column(
            "industry", Subject.FIRM, "行业门类（GB/T 4754）", "Industry section (GB/T 4754)", LegalPerson.industry
        ),
        _years("firm_age", Subject.FIRM, "成立年限（整年）", "Years since establishment", LegalPerson.established_on),
        _column(
            "capital",
            Subject.FIRM,
            "注册资本（万元）",
            "Registered capital (10,000 CNY)",
            LegalPerson.registered_capital,
        ),
        _is("active", Subject.FIRM, "存续", "Active (not struck off)", LegalPerson.status, LegalPersonStatus.ACTIVE),
        _in_district(
            "firm_district", Subject.FIRM, "注册地所在区", "District of registration", LegalPerson.division_code
        ),
        _cert("business_licence", Subject.FIRM, "business_licence", "持有效营业执照", "Valid business licence"),
        _cert(
            "food_licence", Subject.FIRM, "food_business_licence", "持有效食品经营许可证", "Valid food business licence"
        ),
    )
}


def facts_of(subject: Subject) -> Iterable[Fact]:
    return (f for f in FACTS.values() if f.subject is subject)


__all__ = ["FACTS", "HOLDERS", "Fact", "Record", "Subject", "age_on", "facts_of", "latest_born", "yes_no"]
