"""Compile a benefit's DMN decision table into one SQL query that finds everyone it grants.

SpiffWorkflow runs a table one record at a time: the first rule whose cells all hold decides
(``UNIQUE`` as it runs it), no match means not eligible. The same table becomes one
``SELECT id FROM persons WHERE CASE WHEN <rule 1> THEN … END = 1`` here, so the database
decides for every record at once (SQLite and PostgreSQL alike, through SQLAlchemy Core).

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
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, literal, select, true

from onecity.benefits.catalogue import Policy
from onecity.benefits.facts import FACTS, Subject
from onecity.hub.registries.models import LegalPerson, Person

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


def _rule_sql(rule: Rule, on: date) -> ColumnElement[bool]:
    parts = [FACTS[c.fact].compare(c.op, c.value, on) for c in rule.conditions]
    return and_(true(), *parts)


def eligibility_query(policy: Policy, on: date, ids: Collection[int] | None = None) -> Select[Any]:
    """``SELECT id, amount, rule`` of every person or firm the policy's table grants on ``on``
    (``rule``: the index in the table of the rule that decided); ``ids`` restricts it to those records."""
    table = load_table(policy.dmn_path)
    model: Any = Person if policy.subject is Subject.PERSON else LegalPerson
    whens = [(_rule_sql(r, on), literal(1 if r.eligible else 0)) for r in table.rules]
    amounts = [(_rule_sql(r, on), literal(r.amount)) for r in table.rules]
    indexes = [(_rule_sql(r, on), literal(i)) for i, r in enumerate(table.rules)]
    if not whens:
        return select(model.id, literal(0.0), literal(-1)).where(literal(False))
    decided = case(*whens, else_=literal(0))
    amount = case(*amounts, else_=literal(0.0))
    rule = case(*indexes, else_=literal(-1))
    query = select(model.id, amount, rule).where(decided == 1).order_by(model.id)
    return query if ids is None else query.where(model.id.in_(list(ids)))
