"""Compile a benefit's DMN decision table into one SQL query that finds everyone it grants.

SpiffWorkflow runs a table one record at a time: the first rule whose cells all hold decides
(``UNIQUE`` as it runs it), no match means not eligible. The same table becomes one SQL
expression here, ``CASE WHEN <rule 0> THEN 0 WHEN <rule 1> THEN 1 … ELSE -1 END``, the index of
the deciding rule; whether it grants and how much are looked up by that index. All the tables of
one kind of subject are evaluated in one pass over its records (:func:`decisions`), so the
database decides for every record and policy at once (SQLite and PostgreSQL alike, through
SQLAlchemy Core).

Cells are read with Python's parser, the way SpiffWorkflow reads them, but only the forms a
table needs are accepted: empty or ``-`` (any value), a literal (equality: ``True``,
``"F"``, ``3``), a comparison with a literal (``>= 60``, ``< 3``, ``!= "92"``) and
``? in (…)`` / ``? not in (…)`` over literals (SpiffWorkflow glues the input to the cell,
so a bare ``in`` would read ``agein``; the question mark is its way to place the input).
Anything else is refused with the table, rule and cell named, so a table the compiler
cannot translate fails loudly rather than scanning differently from what the per-record
engine decides.
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql as pg

from onecity.benefits.catalogue import Policy
from onecity.benefits.facts import FACTS, HOLDERS, Subject, yes_no
from onecity.hub.registries.models import Certificate, CertificateStatus, LegalPerson, Person

NS = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
_OPS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "notin",
}


class UnsupportedCell(ValueError):
    pass


@dataclass(frozen=True)
class Condition:
    fact: str
    op: str
    value: Any


@dataclass(frozen=True)
class Rule:
    rule_id: str
    conditions: tuple[Condition, ...]
    eligible: bool
    amount: float
    reason: str


@dataclass(frozen=True)
class Table:
    decision_id: str
    inputs: tuple[str, ...]
    rules: tuple[Rule, ...]


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, bool | int | float | str):
        return node.value
    if isinstance(node, ast.Tuple | ast.List):
        return tuple(_literal(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            return -inner
    raise UnsupportedCell(f"not a literal: {ast.unparse(node)}")


def parse_cell(fact: str, text: str) -> Condition | None:
    """One input cell as a condition on ``fact`` (None: any value)."""
    text = text.strip()
    if text in ("", "-"):
        return None
    placed = text.startswith("?")  # SpiffWorkflow's "? in (…)": the input stands where the question mark is
    if placed:
        text = text[1:]
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        tree = None
    if tree is not None:
        value = _literal(tree)
        if isinstance(value, tuple):
            raise UnsupportedCell(f"equality with a tuple: {text!r}")
        return Condition(fact, "==", value)
    try:
        compare = ast.parse(f"v {text}", mode="eval").body
    except SyntaxError as e:
        raise UnsupportedCell(f"cannot read cell {text!r}") from e
    if not (isinstance(compare, ast.Compare) and len(compare.ops) == 1 and type(compare.ops[0]) in _OPS):
        raise UnsupportedCell(f"only one comparison with a literal is supported: {text!r}")
    op = _OPS[type(compare.ops[0])]
    value = _literal(compare.comparators[0])
    if (op in ("in", "notin")) != placed:
        raise UnsupportedCell(f"write membership as '? in (…)' and comparisons without '?': {text!r}")
    if (op in ("in", "notin")) != isinstance(value, tuple):
        raise UnsupportedCell(f"'in' takes a tuple of literals, other comparisons one literal: {text!r}")
    return Condition(fact, op, value)


def _text(node: ET.Element | None) -> str:
    t = node.find("dmn:text", NS) if node is not None else None
    return (t.text or "") if t is not None else ""


@cache
def load_table(path: Path) -> Table:
    """Read the one decision table of a ``.dmn`` file."""
    root = ET.parse(path).getroot()
    decision = root.find("dmn:decision", NS)
    table = decision.find("dmn:decisionTable", NS) if decision is not None else None
    if decision is None or table is None:
        raise UnsupportedCell(f"{path.name}: no decision table")
    inputs = tuple(_text(i.find("dmn:inputExpression", NS)).strip() for i in table.findall("dmn:input", NS))
    outputs = [o.get("name", "") for o in table.findall("dmn:output", NS)]
    if not {"eligible", "amount", "reason"} <= set(outputs):
        raise UnsupportedCell(f"{path.name}: a benefit table outputs eligible, amount and reason")
    rules = []
    for rule in table.findall("dmn:rule", NS):
        rid = rule.get("id", "")
        conds = []
        for fact, entry in zip(inputs, rule.findall("dmn:inputEntry", NS), strict=True):
            if fact not in FACTS:
                raise UnsupportedCell(f"{path.name}: unknown registry fact {fact!r}")
            try:
                cond = parse_cell(fact, _text(entry))
            except UnsupportedCell as e:
                raise UnsupportedCell(f"{path.name} rule {rid}, input {fact}: {e}") from e
            if cond is not None:
                conds.append(cond)
        out = {
            name: ast.literal_eval(_text(e).strip() or "None")
            for name, e in zip(outputs, rule.findall("dmn:outputEntry", NS), strict=True)
        }
        rules.append(Rule(rid, tuple(conds), bool(out["eligible"]), float(out["amount"] or 0), str(out["reason"])))
    return Table(str(decision.get("id")), inputs, tuple(rules))


def certificate_types(subject: Subject, tables: Iterable[Table]) -> tuple[str, ...]:
    """The certificate types the tables of ``subject`` ask about, in a fixed order."""
    wanted = {FACTS[c.fact].certificate for t in tables for r in t.rules for c in r.conditions}
    return tuple(sorted(code for code in wanted if code is not None and code in _CERT_TYPES[subject]))


_CERT_TYPES: dict[Subject, frozenset[str]] = {
    k: frozenset(f.certificate for f in FACTS.values() if f.subject is k and f.certificate is not None) for k in Subject
}


_Ts = TypeVarTuple("_Ts")
#: ids ``lo <= id < hi``: a share of the records, for a scan written by several sessions at once
Span = tuple[int, int]


def held_certificates(
    subject: Subject, types: Sequence[str], on: date, ids: Collection[int] | None = None, span: Span | None = None
) -> Any:
    """Which of ``types`` each holder holds valid on ``on``: one row per holder, one 0/1 column per type,
    from one pass over those certificates (``ids``: only those holders; ``span``: those in that range)."""
    flags = [func.max(case((Certificate.type_code == t, 1), else_=0)).label(t) for t in types]
    query = (
        select(Certificate.holder_id.label("holder_id"), *flags)
        .where(
            Certificate.holder_kind == HOLDERS[subject],
            Certificate.type_code.in_(list(types)),
            Certificate.status == CertificateStatus.VALID,
            or_(Certificate.valid_until.is_(None), Certificate.valid_until >= on),
        )
        .group_by(Certificate.holder_id)
    )
    return _only(query, Certificate.holder_id, ids, span).subquery("held")


def _only(query: Select[*_Ts], id_: Any, ids: Collection[int] | None, span: Span | None) -> Select[*_Ts]:
    """``query`` restricted to the records ``ids`` and to those whose ``id_`` is in ``span``."""
    if ids is not None:
        query = query.where(id_.in_(list(ids)))
    if span is not None:
        query = query.where(id_ >= span[0], id_ < span[1])
    return query


def _condition(c: Condition, on: date, held: Any) -> ColumnElement[bool]:
    fact = FACTS[c.fact]
    if fact.certificate is not None:
        return yes_no(func.coalesce(held.c[fact.certificate], 0) == 1, c.op, c.value)
    assert fact.compare is not None
    return fact.compare(c.op, c.value, on)


def rule_index(table: Table, on: date, held: Any) -> ColumnElement[int]:
    """The index of the table's rule that decides (the first whose cells all hold), -1 when none:
    each rule's conditions appear once; eligibility and amount are then looked up by the index.
    A rule's conditions are tested cheapest first (a date before a text prefix), since ``AND``
    stops at the first false and most records fail a rule's age band."""
    if not table.rules:
        return literal(-1)
    whens = []
    for i, r in enumerate(table.rules):
        ordered = sorted(r.conditions, key=lambda c: FACTS[c.fact].cost)
        whens.append((and_(true(), *(_condition(c, on, held) for c in ordered)), literal(i)))
    return case(*whens, else_=literal(-1))


def granting(table: Table) -> tuple[int, ...]:
    """The indexes of the table's rules that grant (``eligible`` True)."""
    return tuple(i for i, r in enumerate(table.rules) if r.eligible)


def decisions(
    subject: Subject,
    policies: Sequence[Policy],
    on: date,
    ids: Collection[int] | None = None,
    span: Span | None = None,
) -> Select[Any]:
    """``SELECT id, r0, r1, …`` over every record of ``subject`` (or only ``ids``, or those whose id is
    in ``span``): ``r<k>`` is the index
    of the rule of ``policies[k]``'s table that decides for the record (-1: none). One pass over the
    records, the certificates the tables ask about aggregated once per holder and joined (not one
    lookup per record and fact)."""
    tables = [load_table(p.dmn_path) for p in policies]
    if any(p.subject is not subject for p in policies):
        raise ValueError(f"all policies must be about {subject.value}")
    model: Any = Person if subject is Subject.PERSON else LegalPerson
    types = certificate_types(subject, tables)
    held = held_certificates(subject, types, on, ids, span) if types else None
    query = select(model.id.label("id"), *(rule_index(t, on, held).label(f"r{k}") for k, t in enumerate(tables)))
    if held is not None:
        query = query.select_from(model).outerjoin(held, held.c.holder_id == model.id)
    return _only(query, model.id, ids, span)


def amount_of(table: Table, index: ColumnElement[int]) -> ColumnElement[float]:
    """The amount of the rule ``index`` names (a lookup by index, the conditions are not evaluated again)."""
    pays = [(i, r.amount) for i, r in enumerate(table.rules) if r.eligible]
    if not pays:
        return literal(0.0)
    return case({i: literal(a) for i, a in pays}, value=index, else_=literal(0.0))


def eligibility_query(policy: Policy, on: date, ids: Collection[int] | None = None) -> Select[Any]:
    """``SELECT id, amount, rule`` of every person or firm the policy's table grants on ``on``
    (``rule``: the index in the table of the rule that decided); ``ids`` restricts it to those records.
    The same compiled expressions as the city's one-pass scan (:func:`decisions`), for one policy."""
    table = load_table(policy.dmn_path)
    decided = decisions(policy.subject, [policy], on, ids).subquery("decided")
    index = decided.c.r0
    return (
        select(decided.c.id, amount_of(table, index), index)
        .where(index.in_(list(granting(table)) or [-2]))
        .order_by(decided.c.id)
    )


def grants(
    subject: Subject,
    policies: Sequence[Policy],
    on: date,
    ids: Collection[int] | None = None,
    span: Span | None = None,
    *,
    dialect: str = "",
) -> Any:
    """``SELECT policy_code, subject_id, rule, amount, scanned_on`` of every grant of ``policies`` (all
    about ``subject``) on ``on``, from :func:`decisions` evaluated once per record (only ``ids``, or the
    records whose id is in ``span``: the range is applied to the certificates read too).

    On PostgreSQL (``dialect``) each record's grants become rows by ``unnest``: per policy ``k`` a
    constant array maps the deciding rule's index to ``k * 1000 + rule`` when the rule grants and to
    NULL otherwise (each table's expression is read once), the NULLs are removed, and the few codes
    left are joined with the granting rules' codes and amounts; one streaming pass, nothing stored
    on the way. Elsewhere (SQLite has no arrays) the decisions are a CTE read by one ``UNION ALL``
    branch per policy (``WHERE r<k> IN (granting rules)``)."""
    if dialect == "postgresql":
        return _grants_unnest(subject, policies, on, ids, span)
    decided = decisions(subject, policies, on, ids, span).cte("decided")
    parts = []
    for k, p in enumerate(policies):
        table = load_table(p.dmn_path)
        index = decided.c[f"r{k}"]
        found = select(
            literal(p.code).label("policy_code"), decided.c.id, index, amount_of(table, index), literal(on, Date)
        )
        parts.append(found.where(index.in_(list(granting(table)) or [-2])))
    return union_all(*parts)


#: ``k * SPAN + rule`` names rule ``rule`` of the ``k``-th policy in one integer.
SPAN = 1000


def _grants_unnest(
    subject: Subject, policies: Sequence[Policy], on: date, ids: Collection[int] | None, span: Span | None
) -> Any:
    decided = decisions(subject, policies, on, ids, span).subquery("decided")
    tables = [load_table(p.dmn_path) for p in policies]
    codes = []
    for k, table in enumerate(tables):
        if len(table.rules) >= SPAN:
            raise UnsupportedCell(f"{policies[k].code}: more than {SPAN - 1} rules")
        # index -1 (no rule) is the array's first element, rule i its (i + 2)-th
        mapping = [None] + [k * SPAN + i if r.eligible else None for i, r in enumerate(table.rules)]
        lookup = pg.array([cast(literal(v), Integer) if v is not None else cast(null(), Integer) for v in mapping])
        codes.append(lookup[decided.c[f"r{k}"] + 2])
    granted = (
        select(decided.c.id, func.unnest(func.array_remove(pg.array(codes), null())).label("code"))
        .select_from(decided)
        .subquery("granted")
    )
    paid = union_all(
        *(
            select(
                literal(k * SPAN + i).label("code"),
                literal(p.code).label("policy_code"),
                literal(i).label("rule"),
                literal(r.amount).label("amount"),
            )
            for k, (p, table) in enumerate(zip(policies, tables, strict=True))
            for i, r in enumerate(table.rules)
            if r.eligible
        )
    ).subquery("paid")
    return select(paid.c.policy_code, granted.c.id, paid.c.rule, paid.c.amount, literal(on, Date)).join_from(
        granted, paid, paid.c.code == granted.c.code
    )
