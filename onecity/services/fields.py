"""A form field's value checked against its catalogue entry, each problem in words beside the field.

The catalogue's fields are JSON Schema (``maxLength``, ``pattern``, ``enum``, ``minimum``…).
A value too long is refused with the limit, never cut; a page's text is turned into the
field's type here (:func:`parse`), and every problem is a :class:`~onecity.core.errors.Words`
keyed by the field's name, so a page says each one next to its field in the reader's
language and the API answers them all at once (``fields`` in the problem).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from onecity.core.errors import InvalidInput, Words
from onecity.hub.registries import identifiers
from onecity.services import catalogue

#: A page's text longer than this is refused whatever the field (nothing in the catalogue is longer).
MAX_TEXT = 2000

#: What a pattern asks for, in words (the catalogue's patterns); any other pattern says "the format".
PATTERN_WORDS = {
    "^[0-9]{17}[0-9X]$": "services.field.pattern.id_number",
    "^1[0-9]{10}$": "services.field.pattern.phone",
    "^[0-9]{6}$": "services.field.pattern.region",
    "^[0-9A-HJ-NPQRTUWXY]{18}$": "services.field.pattern.uscc",
    "^[0-9]{12,19}$": "services.field.pattern.bank_account",
}

#: Identifiers whose last character checks the rest (GB 11643 resident ID, GB 32100 credit code): a typing
#: slip is told beside the field as it is typed, not by the clerk.
CHECK_CHARS = {
    "^[0-9]{17}[0-9X]$": identifiers.resident_id_check_char,
    "^[0-9A-HJ-NPQRTUWXY]{18}$": identifiers.uscc_check_char,
}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def problem(name: str, value: Any) -> Words | None:
    """What is wrong with ``value`` for the field ``name`` (its type, length, pattern, choices, range), or None."""
    spec = catalogue.field(name)
    kind = spec.get("type")
    if kind == "string":
        if not isinstance(value, str):
            return Words("services.field.text")
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            return Words("services.field.too_long", {"limit": str(spec["maxLength"]), "length": str(len(value))})
        if "enum" in spec and value not in spec["enum"]:
            return Words("services.field.choice")
        if "pattern" in spec and not re.search(spec["pattern"], value):
            return Words(PATTERN_WORDS.get(spec["pattern"], "services.field.pattern"))
        if spec.get("pattern") in CHECK_CHARS and CHECK_CHARS[spec["pattern"]](value[:17]) != value[17]:
            return Words(f"{PATTERN_WORDS[spec['pattern']]}.check_char")
        if spec.get("format") == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                return Words("services.field.date")
        return None
    if kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return Words("services.field.integer" if kind == "integer" else "services.field.number")
        if kind == "integer" and not float(value).is_integer():
            return Words("services.field.integer")
        if "minimum" in spec and value < spec["minimum"]:
            return Words("services.field.minimum", {"limit": _number(spec["minimum"])})
        if "maximum" in spec and value > spec["maximum"]:
            return Words("services.field.maximum", {"limit": _number(spec["maximum"])})
    return None


def parse(name: str, raw: str) -> tuple[Any, Words | None]:
    """A page's text for the field ``name`` as its type (None when left empty), and what is wrong with it."""
    text = raw.strip()
    if text == "":
        return None, None
    spec = catalogue.field(name)
    if len(text) > spec.get("maxLength", MAX_TEXT):
        limit = str(spec.get("maxLength", MAX_TEXT))
        return None, Words("services.field.too_long", {"limit": limit, "length": str(len(text))})
    kind = spec.get("type")
    value: Any = text
    if kind == "integer":
        try:
            value = int(text)
        except ValueError:
            return None, Words("services.field.integer")
    elif kind == "number":
        try:
            value = float(text)
        except ValueError:
            return None, Words("services.field.number")
    return value, problem(name, value)


def refuse(problems: Mapping[str, Words]) -> InvalidInput:
    """One refusal naming every field that is wrong (the pages say each beside its field)."""
    detail = "; ".join(
        f"{catalogue.field(n).get('x-title-en', n)}: {w.key.rsplit('.', 1)[-1]}" for n, w in problems.items()
    )
    return InvalidInput(
        f"these fields need correcting: {detail}",
        words=Words("services.field.summary", {"count": str(len(problems))}),
        fields=dict(problems),
    )


def check(values: Mapping[str, Any]) -> None:
    """Refuse ``values`` if any field's value is wrong, every problem at once."""
    problems = {n: p for n, v in values.items() if v is not None and (p := problem(n, v)) is not None}
    if problems:
        raise refuse(problems)


def parse_form(names: Iterable[str], posted: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The changed values a page posted (``f.<name>``) for ``names``, typed; every problem refused at once."""
    values: dict[str, Any] = {}
    problems: dict[str, Words] = {}
    for name in names:
        raw = posted.get(f"f.{name}")
        if not isinstance(raw, str):
            continue
        value, wrong = parse(name, raw)
        if wrong is not None:
            problems[name] = wrong
        elif value is not None and value != current.get(name):
            values[name] = value
    if problems:
        raise refuse(problems)
    return values
