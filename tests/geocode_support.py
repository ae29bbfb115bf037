"""A gazetteer for tests: part of the generated geography in the database, addresses like the registries'.

``load_area`` writes the communities, outlines and grids of a few districts (a few thousand
rows: far quicker than the whole city) into a SQLite test database holding the reference
divisions (the operations tests' databases hold Xuhui's and Huangpu's already:
:mod:`tests.grids`). ``addresses``
writes homes the way the registries' generator does (上海市徐汇区天平路街道长寿路405弄27号1204室),
a few per community, from a fixed seed; ``build_area`` builds the gazetteer from them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import insert, or_, select
from sqlalchemy.orm import QueryableAttribute, Session, aliased
from sqlalchemy.sql import ColumnElement

from onecity.core.db import Database
from onecity.core.divisions import Division, DivisionLevel
from onecity.hub.geography import gazetteer
from onecity.hub.geography.models import DivisionShape, Grid
from onecity.synth.geography.generate import generate_geography
from onecity.synth.geography.load import _rows

XUHUI, HUANGPU = "310104000000", "310101000000"
ROADS = ("长乐路", "淮海中路", "天目西路", "武宁路", "长寿路", "漕溪北路", "虹桥路", "延安西路", "江宁路", "宜山路")


def _prefixed(column: QueryableAttribute[str], prefixes: Sequence[str]) -> ColumnElement[bool]:
    return or_(*(column.startswith(p) for p in prefixes))


def load_area(db: Database, districts: Sequence[str] = (XUHUI, HUANGPU)) -> None:
    prefixes = [d[:6] for d in districts]
    divisions, shapes, grids = _rows(generate_geography())

    def mine(code: str) -> bool:
        return any(code.startswith(p) for p in prefixes)

    with db.transaction() as session:
        present = set(session.scalars(select(Division.code)))
        rows = [r for r in divisions if mine(r["code"]) and r["code"] not in present]
        if rows:
            session.execute(insert(Division), rows)
        have = set(session.scalars(select(DivisionShape.code)))
        rows = [r for r in shapes if mine(r["code"]) and r["code"] not in have]
        if rows:
            session.execute(insert(DivisionShape), rows)
        have = set(session.scalars(select(Grid.code)))
        rows = [r for r in grids if mine(r["code"]) and r["code"] not in have]
        for start in range(0, len(rows), 2000):
            session.execute(insert(Grid), rows[start : start + 2000])


def addresses(
    session: Session, districts: Sequence[str], per_community: int = 4, seed: int = 7
) -> list[tuple[str, str]]:
    """Homes in every community and village of ``districts``, written as the registries write them."""
    township, district = aliased(Division), aliased(Division)
    rows = session.execute(
        select(Division.code, Division.name, Division.kind, township.name, district.name)
        .join(township, township.code == Division.parent_code)
        .join(district, district.code == township.parent_code)
        .where(Division.level == DivisionLevel.COMMUNITY, _prefixed(Division.code, [d[:6] for d in districts]))
        .order_by(Division.code)
    ).all()
    rng = np.random.default_rng(seed)
    out: list[tuple[str, str]] = []
    for code, name, kind, t_name, d_name in rows:
        head = f"上海市{d_name}{t_name}"
        for _ in range(per_community):
            a, b, c = (int(x) for x in rng.integers(1, 1200, 3))
            if kind == "village":
                out.append((code, f"{head}{name}{a % 15 + 1}组{b % 300 + 1}号"))
            else:
                road = ROADS[int(rng.integers(len(ROADS)))]
                out.append((code, f"{head}{road}{a}弄{b % 60 + 1}号{c % 30 + 1}01室"))
    return out


def build_area(db: Database, districts: Sequence[str] = (XUHUI, HUANGPU)) -> gazetteer.BuildReport:
    with db.transaction() as session:
        return gazetteer.build(session, addresses(session, districts), within=list(districts))
