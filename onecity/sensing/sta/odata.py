"""The SensorThings query language (the OData subset of OGC 18-088 §9.3): a real parser.

``parse_filter("result gt 4.5 and substringof('rain', Datastream/name)")`` gives an AST of
small frozen dataclasses; :mod:`onecity.sensing.sta.query` compiles it to SQLAlchemy. The
grammar, lowest precedence first::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := add (("eq"|"ne"|"gt"|"ge"|"lt"|"le") add)?
    add     := mul (("add"|"sub") mul)*
    mul     := unary (("mul"|"div"|"mod") unary)*
    unary   := "-" unary | primary
    primary := literal | "(" expr ")" | name "(" args ")" | path

Literals: numbers, ``'strings'`` (``''`` escapes a quote), ``true``/``false``/``null``,
ISO 8601 date-times and dates written bare (``2026-11-28T08:00:00Z``), and
``geography'POINT(121.47 31.23)'`` (WKT). ``$orderby`` and ``$expand`` (nested, with options
in parentheses) and ``$select`` are parsed here too.

A malformed query raises :class:`~onecity.core.errors.InvalidInput` naming the position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from onecity.core.errors import DomainError, InvalidInput

# -- the AST ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any  # int | float | str | bool | None | datetime | Geometry


@dataclass(frozen=True)
class Geometry:
    wkt: str


@dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Negate:
    operand: Node


Node = Literal | Path | Call | Binary | Not | Negate

COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
ARITHMETIC = frozenset({"add", "sub", "mul", "div", "mod"})

# -- tokens -------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<geo>geography'(?:[^']|'')*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\d:T]))
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_@$][A-Za-z0-9_.@:$]*(?:/[A-Za-z_@$][A-Za-z0-9_.@:$]*)*)
  | (?P<punct>[(),])
  | (?P<minus>-)
""",
    re.VERBOSE,
)


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise InvalidInput(f"cannot read the query at position {pos}: {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 instant; a naive one is read as UTC (what the standard's examples mean)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise InvalidInput(f"{text!r} is not an ISO 8601 date-time") from err
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def error(self, what: str) -> InvalidInput:
        t = self.tok
        found = "the end" if t.kind == "end" else repr(t.text)
        return InvalidInput(f"$filter: expected {what} at position {t.pos}, found {found}")

    def word(self, *words: str) -> str | None:
        t = self.tok
        if t.kind == "name" and t.text in words:
            self.i += 1
            return t.text
        return None

    def punct(self, p: str) -> bool:
        if self.tok.kind == "punct" and self.tok.text == p:
            self.i += 1
            return True
        return False

    def expect(self, p: str) -> None:
        if not self.punct(p):
            raise self.error(f"'{p}'")

    def parse(self) -> Node:
        node = self.or_()
        if self.tok.kind != "end":
            raise self.error("an operator or the end")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.word("or"):
            node = Binary("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.word("and"):
            node = Binary("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.word("not"):
            return Not(self.not_())
        return self.cmp()

    def cmp(self) -> Node:
        node = self.add()
        op = self.word(*COMPARISONS)
        if op:
            node = Binary(op, node, self.add())
        return node

    def add(self) -> Node:
        node = self.mul()
        while op := self.word("add", "sub"):
            node = Binary(op, node, self.mul())
        return node

    def mul(self) -> Node:
        node = self.unary()
        while op := self.word("mul", "div", "mod"):
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.tok.kind == "minus":
            self.i += 1
            inner = self.unary()
            if (
                isinstance(inner, Literal)
                and isinstance(inner.value, int | float)
                and not isinstance(inner.value, bool)
            ):
                return Literal(-inner.value)
            return Negate(inner)
        return self.primary()

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "punct" and t.text == "(":
            self.i += 1
            node = self.or_()
            self.expect(")")
            return node
        if t.kind == "number":
            self.i += 1
            return Literal(float(t.text) if any(c in t.text for c in ".eE") else int(t.text))
        if t.kind == "string":
            self.i += 1
            return Literal(t.text[1:-1].replace("''", "'"))
        if t.kind == "geo":
            self.i += 1
            return Literal(Geometry(t.text[len("geography'") : -1].replace("''", "'")))
        if t.kind == "datetime":
            self.i += 1
            return Literal(parse_datetime(t.text))
        if t.kind == "date":
            self.i += 1
            return Literal(date.fromisoformat(t.text))
        if t.kind == "name":
            if t.text in {"true", "false"}:
                self.i += 1
                return Literal(t.text == "true")
            if t.text == "null":
                self.i += 1
                return Literal(None)
            if t.text in COMPARISONS | ARITHMETIC | {"and", "or", "not"}:
                raise self.error("a value")
            self.i += 1
            if self.punct("("):
                args: list[Node] = []
                if not self.punct(")"):
                    args.append(self.or_())
                    while self.punct(","):
                        args.append(self.or_())
                    self.expect(")")
                return Call(t.text.lower(), tuple(args))
            return Path(tuple(t.text.split("/")))
        raise self.error("a value")


def parse_filter(text: str) -> Node:
    if len(text) > 4000:
        raise InvalidInput("$filter is longer than 4,000 characters")
    return _Parser(text).parse()


# -- $orderby, $select, $expand -----------------------------------------------------------------


@dataclass(frozen=True)
class OrderBy:
    expr: Node
    descending: bool


def parse_orderby(text: str) -> list[OrderBy]:
    out: list[OrderBy] = []
    for part in split_top_level(text, ","):
        part = part.strip()
        if not part:
            raise InvalidInput("$orderby has an empty item")
        desc = False
        m = re.match(r"^(.*?)\s+(asc|desc)$", part, re.IGNORECASE)
        if m:
            part, desc = m.group(1), m.group(2).lower() == "desc"
        out.append(OrderBy(_Parser(part).parse(), desc))
    return out


def parse_select(text: str) -> list[str]:
    fields = [f.strip() for f in text.split(",")]
    if any(not re.fullmatch(r"[A-Za-z@][A-Za-z0-9@.]*", f) for f in fields):
        raise InvalidInput(f"$select must list property names separated by commas, not {text!r}")
    return fields


@dataclass
class QueryOptions:
    filter: Node | None = None
    orderby: list[OrderBy] = field(default_factory=list)
    top: int | None = None
    skip: int = 0
    count: bool = False
    select: list[str] | None = None
    expand: list[Expand] = field(default_factory=list)


@dataclass
class Expand:
    path: list[str]
    options: QueryOptions


def split_top_level(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses and quotes."""
    out, depth, quote, start = [], 0, False, 0
    for i, c in enumerate(text):
        if c == "'":
            quote = not quote
        elif not quote and c == "(":
            depth += 1
        elif not quote and c == ")":
            depth -= 1
            if depth < 0:
                raise InvalidInput(f"unbalanced ')' in {text!r}")
        elif not quote and depth == 0 and c == sep:
            out.append(text[start:i])
            start = i + 1
    if depth != 0 or quote:
        raise InvalidInput(f"unbalanced parentheses or quotes in {text!r}")
    out.append(text[start:])
    return out


def _int_option(name: str, value: str, *, minimum: int = 0) -> int:
    if not re.fullmatch(r"\d{1,9}", value.strip()):
        raise InvalidInput(f"{name} must be a whole number ≥ {minimum}, not {value!r}")
    return int(value)


def parse_options(params: dict[str, str], *, depth: int = 0) -> QueryOptions:
    """Read ``$filter``, ``$orderby``, ``$top``, ``$skip``, ``$count``, ``$select``, ``$expand``."""
    opts = QueryOptions()
    for key, value in params.items():
        if key == "$filter":
            opts.filter = parse_filter(value)
        elif key == "$orderby":
            opts.orderby = parse_orderby(value)
        elif key == "$top":
            opts.top = _int_option("$top", value)
        elif key == "$skip":
            opts.skip = _int_option("$skip", value)
        elif key == "$count":
            if value not in {"true", "false"}:
                raise InvalidInput(f"$count must be true or false, not {value!r}")
            opts.count = value == "true"
        elif key == "$select":
            opts.select = parse_select(value)
        elif key == "$expand":
            opts.expand = parse_expand(value, depth=depth)
        elif key == "$resultFormat":
            if value != "dataArray":
                raise InvalidInput("$resultFormat supports only dataArray")
        elif key.startswith("$"):
            raise InvalidInput(
                f"unknown query option {key}; SensorThings knows $filter, $expand, $select, "
                "$orderby, $top, $skip, $count and $resultFormat"
            )
    return opts


class QueryTooLarge(DomainError):
    """A query whose answer would be too large or too costly to build: 400, with what to ask instead."""

    status = 400
    code = "query-too-large"
    title = "Query too large"


#: Levels of ``$expand`` below the entities asked for (``Datastreams/Observations`` is two),
#: however they are written: as a path, nested in options, or both.
MAX_EXPAND_DEPTH = 5


def parse_expand(text: str, *, depth: int = 0) -> list[Expand]:
    """``$expand`` items; ``depth`` is how many levels the enclosing items already used."""
    out: list[Expand] = []
    for item in split_top_level(text, ","):
        item = item.strip()
        inner: dict[str, str] = {}
        paren = item.find("(")
        if paren >= 0:
            if not item.endswith(")"):
                raise InvalidInput(f"$expand item {item!r} has text after its options")
            for opt in split_top_level(item[paren + 1 : -1], ";"):
                k, eq, v = opt.strip().partition("=")
                if not eq:
                    raise InvalidInput(f"$expand option {opt!r} needs the form $name=value")
                inner[k.strip()] = v.strip()
            item = item[:paren]
        path = [p for p in item.split("/") if p]
        if depth + len(path) > MAX_EXPAND_DEPTH:
            shown = "/".join(path[:6]) + ("/…" if len(path) > 6 else "")
            raise QueryTooLarge(
                f"$expand goes {depth + len(path)} levels deep ({shown}); at most {MAX_EXPAND_DEPTH} levels are "
                "served: start from an entity nearer to what you need, e.g. /Datastreams(1)/Thing?$expand=Locations"
            )
        if not path or any(not re.fullmatch(r"[A-Za-z]+", p) for p in path):
            raise InvalidInput(f"$expand item {item[:80]!r} is not a navigation path")
        opts = parse_options(inner, depth=depth + len(path))
        # Datastreams/Observations is Datastreams($expand=Observations)
        node = Expand(path[-1:], opts)
        for p in reversed(path[:-1]):
            node = Expand([p], QueryOptions(expand=[node]))
        out.append(node)
    return out
