"""The centres say what to do next: counts that add up, the open cases overdue first, filtered and paged."""

from __future__ import annotations

from datetime import datetime

import pytest

from onecity.core import clock
from onecity.core.errors import InvalidInput
from onecity.ops import centre, service
from onecity.ops.clocks import sweep
from tests.ops.conftest import (
    CITY,
    HUANGPU,
    HUNANLU,
    HUNANLU_POINT,
    TIANPING_POINT,
    TIANPINGLU,
    WAITAN_POINT,
    XUHUI,
    Ops,
)

MONDAY_10 = datetime(2026, 6, 1, 10, 0, tzinfo=clock.SHANGHAI)


def _report(o: Ops, point: tuple[float, float], subtype: str = "E0101", metres_east: float = 0.0) -> str:
    got = o.run(
        service.intake,
        "hotline",
        source="hotline",
        subtype_code=subtype,
        lon=point[0] + metres_east / 95_400.0,
        lat=point[1],
        description="路口有一堆暴露垃圾",
    )
    return str(got.case.id)


def test_counts_add_up_at_every_level(ops: Ops) -> None:
    """Each area's open count is part of its total, and the areas add up to the centre's own figures."""
    with clock.frozen(MONDAY_10) as advance:
        _report(ops, TIANPING_POINT)
        _report(ops, TIANPING_POINT, "E0403", 400)
        _report(ops, HUNANLU_POINT, "E0302")
        _report(ops, WAITAN_POINT)
        advance(5 * 3600)
        sweep(ops.db)
        with ops.db.sessions() as session:
            for who, code in (("city.operator", CITY), ("xh.operator", XUHUI), ("tp.operator", TIANPINGLU)):
                s = centre.summary(session, ops.p(who), code)
                assert all(0 <= ch["open"] <= ch["total"] for ch in s.children)
                assert all(ch["overdue"] <= ch["open"] for ch in s.children)
                assert sum(ch["total"] for ch in s.children) == sum(s.by_status.values())
                assert sum(ch["open"] for ch in s.children) == s.totals["open"]
                live = centre.live_counts(session, ops.p(who), code)
                assert live["children"] == s.children  # the page's rows and the live rows are one count
            city = centre.summary(session, ops.p("city.operator"), CITY)
            assert {ch["code"]: ch["total"] for ch in city.children} == {XUHUI: 3, HUANGPU: 1}


def test_open_cases_overdue_first_filtered_and_paged(ops: Ops) -> None:
    with clock.frozen(MONDAY_10) as advance:
        old = _report(ops, TIANPING_POINT)  # exposed rubbish: 4 working hours
        advance(3 * 3600)
        fresh = [_report(ops, TIANPING_POINT, "E0403", -250 * (i + 1)) for i in range(3)]
        hn = _report(ops, HUNANLU_POINT, "E0302")
        advance(1.5 * 3600)  # the first is past its limit now, the others not
        with ops.db.sessions() as session:
            got = centre.open_cases(session, ops.p("xh.operator"), XUHUI)
            assert got.total == 5 and got.cases[0].id == old
            assert {c.id for c in got.cases} == {old, hn, *fresh}
            only = centre.open_cases(session, ops.p("xh.operator"), XUHUI, centre.CaseFilter(overdue=True))
            assert [c.id for c in only.cases] == [old]
            area = centre.open_cases(session, ops.p("xh.operator"), XUHUI, centre.CaseFilter(area=HUNANLU))
            assert hn in {c.id for c in area.cases} and old not in {c.id for c in area.cases}
            assert all(c.township_code == HUNANLU for c in area.cases)
            cls = centre.open_cases(session, ops.p("xh.operator"), XUHUI, centre.CaseFilter(major="E04"))
            assert {c.id for c in cls.cases} == set(fresh)
            pages = [centre.open_cases(session, ops.p("xh.operator"), XUHUI, page=p, page_size=2) for p in (1, 2, 3)]
            assert [len(p.cases) for p in pages] == [2, 2, 1] and pages[0].pages == 3
            assert [c.id for p in pages for c in p.cases] == [c.id for c in got.cases]  # a stable order
            with pytest.raises(InvalidInput):
                centre.open_cases(session, ops.p("xh.operator"), XUHUI, centre.CaseFilter(status="closed"))
            with pytest.raises(InvalidInput):  # an area outside the centre's own
                centre.open_cases(session, ops.p("xh.operator"), XUHUI, centre.CaseFilter(area="310101013000"))
            with pytest.raises(InvalidInput):
                centre.open_cases(session, ops.p("xh.operator"), XUHUI, page_size=1000)


def test_rankings_show_the_top_rows() -> None:
    rows = [{"key": str(i), "score": float(i)} for i in range(25)] + [{"key": "none", "score": None}]
    top = centre.ranked(rows, "score")
    assert [r["key"] for r in top] == [str(i) for i in range(24, 14, -1)]
    assert centre.ranked(rows[:3] + rows[-1:], "score", n=10)[-1]["key"] == "none"
