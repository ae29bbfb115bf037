"""Working-hour arithmetic for the time limits of normal cases.

Normal cases count working hours (09:00–17:00 Shanghai time on working days, as the
taxonomy file says); urgent ones count clock hours. Working days are the platform's one
calendar (:mod:`onecity.core.workdays`): public holidays are off and the make-up working
weekends (调休) are on, as for the services' time limits. The taxonomy's ``days`` are the
weekdays used for years the calendar does not list.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from onecity.core import clock, workdays
from onecity.ops.taxonomy import Urgency, taxonomy


def _window() -> tuple[set[int], time, time]:
    wh = taxonomy().working_hours
    return set(wh["days"]), time.fromisoformat(wh["start"]), time.fromisoformat(wh["end"])


def _works(day: date, days: set[int]) -> bool:
    """A working day: the holiday calendar where it knows the year, else the taxonomy's weekdays."""
    return workdays.is_working_day(day) if workdays.known_year(day.year) else day.weekday() in days


def add_working_hours(start: datetime, hours: float) -> datetime:
    """The moment ``hours`` working hours after ``start`` (aware; returned in UTC)."""
    days, open_, close = _window()
    t = clock.local(start)
    left = timedelta(hours=hours)
    for _ in range(3660):  # ten years of days: a bound, never reached by a real limit
        day_open = datetime.combine(t.date(), open_, tzinfo=clock.SHANGHAI)
        day_close = datetime.combine(t.date(), close, tzinfo=clock.SHANGHAI)
        if _works(t.date(), days) and t < day_close:
            t = max(t, day_open)
            room = day_close - t
            if left <= room:
                return (t + left).astimezone(UTC)
            left -= room
        t = datetime.combine(t.date() + timedelta(days=1), open_, tzinfo=clock.SHANGHAI)
    raise ValueError(f"{hours} working hours is beyond any time limit")


def working_hours_between(a: datetime, b: datetime) -> float:
    """Working hours from ``a`` to ``b`` (0 if ``b`` is not after ``a``)."""
    if b <= a:
        return 0.0
    days, open_, close = _window()
    total = timedelta()
    t = clock.local(a)
    end = clock.local(b)
    while t < end:
        day_open = datetime.combine(t.date(), open_, tzinfo=clock.SHANGHAI)
        day_close = datetime.combine(t.date(), close, tzinfo=clock.SHANGHAI)
        if _works(t.date(), days):
            lo, hi = max(t, day_open), min(end, day_close)
            if hi > lo:
                total += hi - lo
        t = datetime.combine(t.date() + timedelta(days=1), time(0), tzinfo=clock.SHANGHAI)
    return total.total_seconds() / 3600


def due(start: datetime, hours: float, urgency: Urgency) -> datetime:
    """When a step started at ``start`` with a limit of ``hours`` falls due."""
    if taxonomy().urgency[urgency].clock == "clock":
        return start + timedelta(hours=hours)
    return add_working_hours(start, hours)


def share_of(start: datetime, due: datetime, share: float, urgency: Urgency) -> datetime:
    """The moment ``share`` of a step's time from ``start`` to ``due`` is used up, counted as its limit is:
    clock hours for an urgent case, working hours for a normal one. A normal case's wall-clock span holds
    nights and weekends: 80 % of a Friday-to-Monday span falls on Sunday night, leaving minutes of
    working time, when the early warning must leave a fifth of the working hours to act on."""
    if due <= start:
        return due
    if taxonomy().urgency[urgency].clock == "clock":
        return start + (due - start) * share
    return min(due, add_working_hours(start, working_hours_between(start, due) * share))


def is_working_time(at: datetime) -> bool:
    days, open_, close = _window()
    t = clock.local(at)
    return _works(t.date(), days) and open_ <= t.time() < close
