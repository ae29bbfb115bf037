"""Working days in China: weekends, public holidays and make-up working days (调休).

Statutory time limits of service items (承诺时限) count working days, so a limit of ten
days promised on the Friday before the Spring Festival ends weeks later; urban operations'
working-hour limits skip the same days. One calendar for the whole platform. The holiday
arrangements are published by the State Council each year; ``onecity/data/holidays.json``
holds them with their source. Years not listed there fall back to Monday–Friday (and say so via
:func:`known_year`), rather than guessing.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _table() -> tuple[frozenset[date], frozenset[date], frozenset[int]]:
    raw = json.loads(resources.files("onecity").joinpath("data/holidays.json").read_text("utf-8"))
    off: set[date] = set()
    work: set[date] = set()
    for year in raw["years"].values():
        off.update(date.fromisoformat(d) for d in year["off"])
        work.update(date.fromisoformat(d) for d in year["workdays"])
    return frozenset(off), frozenset(work), frozenset(int(y) for y in raw["years"])


def known_year(year: int) -> bool:
    """Whether the holiday arrangement of ``year`` is in the table."""
    return year in _table()[2]


def is_working_day(day: date) -> bool:
    off, work, _years = _table()
    if day in work:
        return True
    if day in off:
        return False
    return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start``; with 0, ``start`` itself if it is a working day, else the next.

    A case accepted on a Sunday with a limit of one day is due on Monday, the first working day
    after it, exactly as one accepted on the Friday before.
    """
    if days < 0:
        raise ValueError("a time limit cannot be negative")
    current = start
    if days == 0:
        while not is_working_day(current):
            current += timedelta(days=1)
        return current
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count
