"""The platform's one source of time.

Everything that stamps or compares times calls :func:`now`, so tests (and the simulator,
which runs a city faster than real time) can move the clock without touching the code.
Times are always timezone-aware UTC; pages show them in Asia/Shanghai.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _source()


def set_clock(source: Callable[[], datetime]) -> None:
    global _source
    _source = source


@contextmanager
def driven_by(source: Callable[[], datetime]) -> Iterator[None]:
    """Let ``source`` (e.g. a simulation's clock) tell the time inside the block."""
    previous = _source
    set_clock(source)
    try:
        yield
    finally:
        set_clock(previous)


@contextmanager
def frozen(at: datetime) -> Iterator[Callable[[float], None]]:
    """Freeze time at ``at``; yields ``advance(seconds)`` to move it on."""
    if at.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    current = [at]
    previous = _source

    def advance(seconds: float) -> None:
        from datetime import timedelta

        current[0] = current[0] + timedelta(seconds=seconds)

    set_clock(lambda: current[0])
    try:
        yield advance
    finally:
        set_clock(previous)


def local(dt: datetime) -> datetime:
    """``dt`` as Shanghai wall-clock time, for display."""
    return dt.astimezone(SHANGHAI)


def today() -> date:
    """Today's date in Shanghai: what a birth date, a certificate's issue date or a deadline means
    (the UTC date is yesterday until 08:00 Shanghai time)."""
    return now().astimezone(SHANGHAI).date()
