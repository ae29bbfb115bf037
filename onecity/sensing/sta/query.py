"""Compile SensorThings queries to SQL and run them: ``$filter``, ``$orderby``, paging, ``$expand``.

The ``$filter`` AST (:mod:`onecity.sensing.sta.odata`) becomes one SQLAlchemy condition:
comparison, logical and arithmetic operators map to SQL operators; string, date and math
functions to SQL functions both SQLite and PostgreSQL know; a path through to-one links
(``Datastream/ObservedProperty/name``) to a correlated scalar subquery; a path into a JSON
property (``properties/owner``) to a JSON extraction.

Geometry has no index in either database here, so geospatial functions (``geo.intersects``,
``st_within``, ``geo.distance(...) lt 0.01``…) are evaluated with shapely over the geometries
of the set they name (Locations, FeaturesOfInterest, Datastreams' observed areas: thousands
of rows, never the observations) and enter the SQL as ``id IN (…)``; they then combine with
everything else in the expression like any other condition.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import shapely
from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    extract,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from onecity.core.errors import InvalidInput
from onecity.sensing.sta import odata
from onecity.sensing.sta.entities import SETS, EntitySet, Prop, serialise
from onecity.sensing.sta.odata import (
    Binary,
    Call,
    Geometry,
    Literal,
    Negate,
    Node,
    Not,
    Path,
    QueryOptions,
    QueryTooLarge,
)

DEFAULT_TOP = 100
MAX_TOP = 10_000
#: Entities one response may hold, counting every expanded one: a page of 10,000 with one
#: to-one expansion each fits; 100 Things × 100 Datastreams × 100 Observations does not.
MAX_ENTITIES = 20_000


class Budget:
    """How many more entities this response may hold; spent as rows are read, before rendering."""

    def __init__(self, limit: int = MAX_ENTITIES) -> None:
        self.limit = self.left = limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise QueryTooLarge(
                f"the answer would hold more than {self.limit:,} entities with its expansions; "
                "ask for fewer at a time: a smaller $top (also inside $expand), or fewer $expand levels, "
                "and follow @iot.nextLink"
            )


_CMP: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "mod": operator.mod,
}
_GEO_PREDICATES = {
    "geo.intersects": "intersects",
    "st_intersects": "intersects",
    "st_within": "within",
    "st_contains": "contains",
    "st_equals": "equals",
    "st_disjoint": "disjoint",
    "st_touches": "touches",
    "st_overlaps": "overlaps",
    "st_crosses": "crosses",
}


def to_shape(value: Any) -> Any:
    """A shapely geometry from GeoJSON (a geometry or a Feature) or a WKT literal."""
    try:
        if isinstance(value, Geometry):
            return shapely.from_wkt(value.wkt)
        if isinstance(value, dict):
            geom = value.get("geometry", value) if value.get("type") == "Feature" else value
            return shapely.geometry.shape(geom)
    except Exception as err:  # shapely raises several types for bad input
        raise InvalidInput(f"not a valid geometry: {err}") from err
    raise InvalidInput("a geometry is needed here: a geometry property or geography'POINT(lon lat)'")


class Compiler:
    """Turns one ``$filter`` AST into a SQL condition on one entity set."""

    def __init__(self, session: Session, es: EntitySet) -> None:
        self.session, self.es = session, es

    def condition(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, Binary) and node.op in {"and", "or"}:
            join = and_ if node.op == "and" else or_
            return join(self.condition(node.left), self.condition(node.right))
        if isinstance(node, Not):
            return not_(self.condition(node.operand))
        if isinstance(node, Binary) and node.op in _CMP:
            geo = self._geo_comparison(node)
            if geo is not None:
                return geo
            left: ColumnElement[Any] = self.value(node.left)
            right: ColumnElement[Any] = self.value(node.right)
            if isinstance(node.right, Literal) and node.right.value is None:
                return left.is_(None) if node.op == "eq" else left.is_not(None)
            if isinstance(node.left, Literal) and node.left.value is None:
                return right.is_(None) if node.op == "eq" else right.is_not(None)
            return _CMP[node.op](left, right)
        if isinstance(node, Call) and node.name in {*_GEO_PREDICATES, "st_relate"}:
            return self._geo_predicate(node)
        if isinstance(node, Literal) and isinstance(node.value, bool):
            return true() if node.value else false()
        if isinstance(node, Path) or (
            isinstance(node, Call) and node.name in {"substringof", "startswith", "endswith"}
        ):
            truth: ColumnElement[Any] = self.value(node)  # a boolean property or function
            return truth == true()
        raise InvalidInput("$filter must be a condition (a comparison, a boolean function, and/or/not)")

    # -- values ---------------------------------------------------------------------------------

    def value(self, node: Node) -> Any:
        if isinstance(node, Literal):
            v = node.value
            if isinstance(v, Geometry):
                raise InvalidInput("a geography literal can only be used in a geospatial function")
            if isinstance(v, datetime | date) or v is None:
                return literal(v) if v is not None else null()
            return literal(v)
        if isinstance(node, Path):
            return self.path(node)
        if isinstance(node, Negate):
            return -self.value(node.operand)
        if isinstance(node, Binary) and node.op in _ARITH:
            left, right = self.value(node.left), self.value(node.right)
            if node.op == "div":
                return cast(left, Float) / right
            if node.op == "mod":
                return (
                    func.mod(left, right)
                    if self.session.bind and self.session.bind.dialect.name != "sqlite"
                    else left % right
                )
            return _ARITH[node.op](left, right)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Binary | Not):
            return self.condition(node)
        raise InvalidInput("unsupported expression in $filter")

    def path(self, node: Path, es: EntitySet | None = None) -> Any:
        es = es or self.es
        head, rest = node.parts[0], node.parts[1:]
        if head in {"id", "@iot.id"} and not rest:
            return es.id_column
        prop = es.props.get(head)
        if prop is not None:
            if not rest:
                return prop.column
            if prop.kind != "json":
                raise InvalidInput(f"{es.singular}/{head} has no members to navigate into")
            return _json_path(prop, rest)
        nav = es.navs.get(head)
        if nav is None:
            known = ", ".join([*es.props, *es.navs])
            raise InvalidInput(f"{es.singular} has no property or link {head!r}; it has: {known}")
        if nav.many or nav.fk is None:
            raise InvalidInput(
                f"$filter can follow only to-one links; {es.singular}/{head} leads to many "
                f"(filter {head} itself instead, or use $expand with $filter)"
            )
        if not rest:
            raise InvalidInput(f"name a property of {head}, e.g. {head}/id")
        target = SETS[nav.target]
        inner = self.path(Path(rest), target)
        return select(inner).where(target.id_column == nav.fk).correlate(es.model).scalar_subquery()

    def call(self, node: Call) -> Any:
        name, args = node.name, node.args
        v = [self.value(a) for a in args] if name not in _GEO_PREDICATES and not name.startswith("geo.") else []

        def arity(n: int) -> None:
            if len(args) != n:
                raise InvalidInput(f"{name}() takes {n} argument{'s' if n != 1 else ''}, not {len(args)}")

        if name == "substringof":
            arity(2)
            needle = args[0].value if isinstance(args[0], Literal) else None
            if isinstance(needle, str):
                return v[1].contains(needle, autoescape=True)
            return (func.instr(v[1], v[0]) if self._sqlite else func.strpos(v[1], v[0])) > 0
        if name in {"startswith", "endswith"}:
            arity(2)
            if not isinstance(args[1], Literal) or not isinstance(args[1].value, str):
                raise InvalidInput(f"{name}() takes a string literal as its second argument")
            return (
                v[0].startswith(args[1].value, autoescape=True)
                if name == "startswith"
                else v[0].endswith(args[1].value, autoescape=True)
            )
        if name == "length":
            arity(1)
            return func.length(v[0])
        if name == "indexof":
            arity(2)
            return func.instr(v[0], v[1]) - 1 if self._sqlite else func.strpos(v[0], v[1]) - 1
        if name == "substring":
            if len(args) not in (2, 3):
                raise InvalidInput("substring() takes 2 or 3 arguments")
            return func.substr(v[0], v[1] + 1, *v[2:])
        if name in {"tolower", "toupper", "trim"}:
            arity(1)
            return {"tolower": func.lower, "toupper": func.upper, "trim": func.trim}[name](v[0])
        if name == "concat":
            arity(2)
            return v[0].concat(v[1])
        if name in {"year", "month", "day", "hour", "minute", "second"}:
            arity(1)
            return cast(extract(name, v[0]), Float)
        if name == "fractionalseconds":
            arity(1)
            return cast(extract("second", v[0]), Float) - func.floor(cast(extract("second", v[0]), Float))
        if name == "date":
            arity(1)
            return func.date(v[0]) if self._sqlite else cast(v[0], type_=_date_type())
        if name == "totaloffsetminutes":
            arity(1)
            return literal(0)  # stored in UTC
        if name == "now":
            arity(0)
            return func.current_timestamp()
        if name in {"round", "floor", "ceiling"}:
            arity(1)
            if name == "round":
                return func.round(v[0])
            if self._sqlite:  # SQLite before 3.35 lacks floor/ceil; do it with CASE
                as_int = cast(v[0], _int_type())
                if name == "floor":
                    return case((v[0] < as_int, as_int - 1), else_=as_int)
                return case((v[0] > as_int, as_int + 1), else_=as_int)
            return func.floor(v[0]) if name == "floor" else func.ceil(v[0])
        if name in {"geo.distance", "geo.length"}:
            raise InvalidInput(
                f"{name}() can be used only compared with a number, e.g. "
                f"{name}(location, geography'POINT(121.47 31.23)') lt 0.01"
            )
        raise InvalidInput(f"unknown function {name}()")

    @property
    def _sqlite(self) -> bool:
        return self.session.get_bind().dialect.name == "sqlite"

    # -- geometry -------------------------------------------------------------------------------

    def _geometry_source(self, node: Node) -> tuple[Any, list[tuple[int, Any]]]:
        """(the id column to filter on, [(id, shapely geometry)…]) for a geometry path."""
        if not isinstance(node, Path):
            raise InvalidInput("the first argument of a geospatial function is a geometry property, e.g. location")
        es, id_col, parts = self.es, self.es.id_column, list(node.parts)
        while len(parts) > 1:  # follow to-one links: Observations → FeatureOfInterest/feature
            nav = es.navs.get(parts[0])
            if nav is None or nav.many or nav.fk is None:
                raise InvalidInput(f"{es.singular}/{parts[0]} is not a to-one link to a geometry")
            if es is self.es:
                id_col = nav.fk
            else:
                raise InvalidInput("geospatial paths may follow one link")
            es, parts = SETS[nav.target], parts[1:]
        prop = es.props.get(parts[0])
        if prop is None or prop.kind != "geometry":
            geo_props = [n for n, p in es.props.items() if p.kind == "geometry"]
            raise InvalidInput(f"{es.singular}/{parts[0]} is not a geometry; geometries here: {geo_props or 'none'}")
        rows = self.session.execute(select(es.id_column, prop.column).where(prop.column.is_not(None))).all()
        return id_col, [(r[0], to_shape(r[1])) for r in rows if r[1]]

    def _geo_predicate(self, node: Call) -> ColumnElement[bool]:
        want = 3 if node.name == "st_relate" else 2
        if len(node.args) != want:
            raise InvalidInput(f"{node.name}() takes {want} arguments")
        id_col, shapes = self._geometry_source(node.args[0])
        if not isinstance(node.args[1], Literal):
            raise InvalidInput(f"the second argument of {node.name}() is geography'…'")
        other = to_shape(node.args[1].value)
        if node.name == "st_relate":
            pattern = node.args[2]
            if not isinstance(pattern, Literal) or not isinstance(pattern.value, str):
                raise InvalidInput("st_relate() takes a DE-9IM pattern string as its third argument")
            hits = [i for i, g in shapes if g.relate_pattern(other, pattern.value)]
        else:
            method = _GEO_PREDICATES[node.name]
            hits = [i for i, g in shapes if getattr(g, method)(other)]
        return id_col.in_(hits) if hits else false()

    def _geo_comparison(self, node: Binary) -> ColumnElement[bool] | None:
        fn, num, op = node.left, node.right, node.op
        if isinstance(num, Call) and num.name in {"geo.distance", "geo.length"}:
            fn, num = num, fn
            op = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}.get(op, op)
        if not (isinstance(fn, Call) and fn.name in {"geo.distance", "geo.length"}):
            return None
        if not isinstance(num, Literal) or not isinstance(num.value, int | float):
            raise InvalidInput(f"compare {fn.name}() with a number")
        id_col, shapes = self._geometry_source(fn.args[0] if fn.args else Literal(None))
        if fn.name == "geo.distance":
            if len(fn.args) != 2 or not isinstance(fn.args[1], Literal):
                raise InvalidInput("geo.distance() takes a geometry property and geography'…'")
            other = to_shape(fn.args[1].value)
            measure = [(i, g.distance(other)) for i, g in shapes]
        else:
            if len(fn.args) != 1:
                raise InvalidInput("geo.length() takes one geometry property")
            measure = [(i, g.length) for i, g in shapes]
        hits = [i for i, d in measure if _CMP[op](d, num.value)]
        return id_col.in_(hits) if hits else false()


def _json_path(prop: Prop, rest: tuple[str, ...]) -> Any:
    expr = prop.column[rest[0]] if len(rest) == 1 else prop.column[tuple(rest)]
    return _JsonValue(expr)


class _JsonValue:
    """A JSON member compared with a literal: as text with strings, as a number with numbers."""

    def __init__(self, expr: Any) -> None:
        self.expr = expr

    def _pick(self, other: Any) -> Any:
        value = getattr(other, "value", other)
        if isinstance(value, bool):
            return self.expr.as_boolean()
        if isinstance(value, int | float):
            return self.expr.as_float()
        return self.expr.as_string()

    def __eq__(self, other: Any) -> Any:
        return self._pick(other) == other

    def __ne__(self, other: Any) -> Any:
        return self._pick(other) != other

    def __gt__(self, other: Any) -> Any:
        return self._pick(other) > other

    def __ge__(self, other: Any) -> Any:
        return self._pick(other) >= other

    def __lt__(self, other: Any) -> Any:
        return self._pick(other) < other

    def __le__(self, other: Any) -> Any:
        return self._pick(other) <= other

    def is_(self, other: Any) -> Any:
        return self.expr.as_string().is_(other)

    def is_not(self, other: Any) -> Any:
        return self.expr.as_string().is_not(other)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.expr.as_string(), name)

    __hash__ = None  # type: ignore[assignment]


def _date_type() -> Any:
    from sqlalchemy import Date

    return Date()


def _int_type() -> Any:
    from sqlalchemy import Integer

    return Integer()


# -- running a query ----------------------------------------------------------------------------


def apply_options(session: Session, es: EntitySet, stmt: Select[Any], opts: QueryOptions) -> Select[Any]:
    """``$filter`` and ``$orderby`` on a statement selecting ``es`` rows (no paging)."""
    compiler = Compiler(session, es)
    if opts.filter is not None:
        stmt = stmt.where(compiler.condition(opts.filter))
    for ob in opts.orderby:
        expr = compiler.value(ob.expr)
        expr = getattr(expr, "expr", expr)  # a JSON member orders by its text
        stmt = stmt.order_by(expr.desc() if ob.descending else expr.asc())
    # a stable order for paging: observations newest first by default, like most servers
    if not opts.orderby and es.name == "Observations":
        stmt = stmt.order_by(SETS["Observations"].props["phenomenonTime"].column.desc())
    return stmt.order_by(es.id_column.desc() if es.name == "Observations" and not opts.orderby else es.id_column.asc())


def read_collection(
    session: Session,
    es: EntitySet,
    stmt: Select[Any],
    opts: QueryOptions,
    base: str,
    next_link: str | None,
    *,
    top_default: int = DEFAULT_TOP,
    budget: Budget | None = None,
) -> dict[str, Any]:
    """One page of a collection as the standard's JSON: ``@iot.count``, ``value``, ``@iot.nextLink``.

    ``budget`` bounds the entities of the whole response (this page and all its expansions).
    """
    budget = budget or Budget()
    top = min(opts.top if opts.top is not None else top_default, MAX_TOP)
    stmt = apply_options(session, es, stmt, opts)
    out: dict[str, Any] = {}
    if opts.count:
        out["@iot.count"] = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = list(session.scalars(stmt.offset(opts.skip).limit(top + 1)))
    more = len(rows) > top
    rows = rows[:top]
    budget.spend(len(rows))
    out["value"] = [render(session, es, r, opts, base, budget=budget, counted=True) for r in rows]
    if more and next_link is not None:
        out["@iot.nextLink"] = next_link.replace("__SKIP__", str(opts.skip + top))
    return out


def render(
    session: Session,
    es: EntitySet,
    row: Any,
    opts: QueryOptions,
    base: str,
    *,
    budget: Budget | None = None,
    counted: bool = False,
) -> dict[str, Any]:
    """An entity with its ``$select`` and ``$expand`` applied (expansions recursively, within ``budget``)."""
    budget = budget or Budget()
    if not counted:
        budget.spend(1)
    out = serialise(es, row, base, opts.select)
    for ex in opts.expand:
        name = ex.path[0]
        nav = es.navs.get(name)
        if nav is None:
            raise InvalidInput(f"{es.singular} has no link {name!r} to expand; it has: {', '.join(es.navs)}")
        target = SETS[nav.target]
        related = nav.related(row.id)
        if nav.many:
            page = read_collection(session, target, related, ex.options, base, None, budget=budget)
            out[name] = page["value"]
            if "@iot.count" in page:
                out[f"{name}@iot.count"] = page["@iot.count"]
            if ex.options.top is None or len(page["value"]) >= (ex.options.top or 0):
                link = f"{out.get('@iot.selfLink') or ''}/{name}"
                if len(page["value"]) >= (ex.options.top or DEFAULT_TOP):
                    out[f"{name}@iot.nextLink"] = (
                        f"{link}?$top={ex.options.top or DEFAULT_TOP}&$skip={ex.options.skip + len(page['value'])}"
                    )
        else:
            stmt = apply_options(session, target, related, QueryOptions(filter=ex.options.filter))
            child = session.scalars(stmt.limit(1)).first()
            out[name] = render(session, target, child, ex.options, base, budget=budget) if child is not None else None
    return out


__all__ = ["Compiler", "apply_options", "odata", "read_collection", "render"]
