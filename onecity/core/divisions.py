"""Administrative divisions (GB/T 2260, 12-digit statistical codes) and their scope prefixes.

A division code nests its parents: ``310104003000`` (Xujiahui subdistrict) lies in
``310104000000`` (Xuhui district), which lies in ``310000000000`` (Shanghai). The *scope
prefix* of a division is the part of its code that every code inside it shares, so "is
this record in my area" is a ``LIKE 'prefix%'`` on an indexed column, at any scale.

The core holds the division tree only (codes, names, levels); the data hub adds
outlines, communities, villages and grids on top of it.
"""

from __future__ import annotations

import csv
from enum import StrEnum
from importlib import resources

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from onecity.core.db import Base
from onecity.core.errors import InvalidInput

MUNICIPALITY_CODE = "310000000000"
MUNICIPALITY_NAME = "上海市"
MUNICIPALITY_NAME_EN = "Shanghai"


class DivisionLevel(StrEnum):
    MUNICIPALITY = "municipality"
    DISTRICT = "district"
    TOWNSHIP = "township"
    COMMUNITY = "community"

    @property
    def label_zh(self) -> str:
        return {"municipality": "市", "district": "区", "township": "街镇", "community": "居村"}[self.value]


class Division(Base):
    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    level: Mapped[DivisionLevel] = mapped_column(String(16), index=True)
    #: subdistrict (街道), town (镇), township (乡), community (居委会), village (村委会)…
    kind: Mapped[str | None] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"), index=True)


def validate_code(code: str) -> str:
    if len(code) != 12 or not code.isdigit():
        raise InvalidInput(f"division code {code!r} must be 12 digits (GB/T 2260 statistical code)")
    return code


def level_of(code: str) -> DivisionLevel:
    validate_code(code)
    if code[2:] == "0" * 10:
        return DivisionLevel.MUNICIPALITY
    if code[6:] == "000000":
        return DivisionLevel.DISTRICT
    if code[9:] == "000":
        return DivisionLevel.TOWNSHIP
    return DivisionLevel.COMMUNITY


def scope_prefix(code: str) -> str:
    """The prefix every division code inside ``code`` starts with."""
    return {
        DivisionLevel.MUNICIPALITY: code[:2],
        DivisionLevel.DISTRICT: code[:6],
        DivisionLevel.TOWNSHIP: code[:9],
        DivisionLevel.COMMUNITY: code,
    }[level_of(code)]


def contains(outer: str, inner: str) -> bool:
    """Whether division ``inner`` lies inside (or is) division ``outer``."""
    return validate_code(inner).startswith(scope_prefix(outer))


def district_of(code: str) -> str:
    return code[:6] + "000000"


def load_reference_divisions(session: Session) -> int:
    """Insert the municipality, 16 districts and 216 townships shipped in ``onecity/data``.

    Idempotent: rows already present are left alone. Returns how many were added.
    """
    present = set(session.scalars(select(Division.code)))
    rows: list[Division] = []
    if MUNICIPALITY_CODE not in present:
        rows.append(
            Division(
                code=MUNICIPALITY_CODE,
                name=MUNICIPALITY_NAME,
                name_en=MUNICIPALITY_NAME_EN,
                level=DivisionLevel.MUNICIPALITY,
                kind="municipality",
                parent_code=None,
            )
        )
    ref = resources.files("onecity.data").joinpath("shanghai-township-divisions.csv")
    seen_districts: set[str] = set()
    with ref.open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            district = rec["district_code"] + "000000"
            if district not in present and district not in seen_districts:
                rows.append(
                    Division(
                        code=district,
                        name=rec["district_name"],
                        name_en=rec["district_name_en"],
                        level=DivisionLevel.DISTRICT,
                        kind="district",
                        parent_code=MUNICIPALITY_CODE,
                    )
                )
            seen_districts.add(district)
            if rec["township_code"] not in present:
                rows.append(
                    Division(
                        code=rec["township_code"],
                        name=rec["township_name"],
                        name_en=rec["township_name_en"],
                        level=DivisionLevel.TOWNSHIP,
                        kind=rec["township_kind"],
                        parent_code=district,
                    )
                )
    # added parents first: the unit of work inserts one table's rows in the order added
    session.add_all(rows)
    session.flush()
    return len(rows)
