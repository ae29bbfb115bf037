"""Review rules as DMN 1.3 decision tables, run by SpiffWorkflow's DMN engine.

A service item's review rules (``age >= 60`` and ``shanghai_hukou`` for a senior citizen card)
live in ``.dmn`` files anyone can open in a DMN modeler (bpmn.io, Camunda Modeler) and change
without a code change. :func:`decide` runs one decision with the facts a pre-review gathered
and returns the table's outputs plus the ids of the rules that matched — the "which rule" of
a decision's reasons.

SpiffWorkflow evaluates cells as Python expressions, not FEEL (``True``/``False``, ``"text"``,
``>= 60``); a ``.dmn`` here is parsed once per process and its engine reused (parsing per case
cuts throughput about fourfold). Files of other parts can be registered with
:func:`register_directory` (issue 4's service items keep their tables beside their BPMN).

The facts are plain values handed to the table, never code: the engine evaluates the table's
own expressions against them, so an applicant's text cannot become an expression.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy.orm import Session

from onecity.core.errors import InvalidInput, NotFound
from onecity.core.identity.principal import Principal

RULES_DIR = Path(__file__).resolve().parent
_lock = threading.Lock()
_dirs: list[Path] = [RULES_DIR]
_engines: dict[str, Any] = {}


@dataclass(frozen=True)
class Decision:
    decision_id: str
    outputs: dict[str, Any]
    #: DMN rule ids that matched, in table order
    rules: tuple[str, ...]


class Judge(Protocol):
    """Decides an applicant's eligibility from the registries (read with ``principal`` for
    ``purpose``): ``identifier`` is the applicant's (a person's ID number, a firm's credit code),
    ``form`` the application's form (a proactive benefit's case names its policy there)."""

    def __call__(
        self, session: Session, principal: Principal, identifier: str, *, on: date, purpose: str, form: dict[str, Any]
    ) -> Decision: ...


_judges: dict[str, Judge] = {}


def register_judge(name: str, judge: Judge) -> None:
    """Let a service item name ``name`` as its eligibility (``prereview.eligibility`` in the catalogue)."""
    with _lock:
        _judges[name] = judge


def judge(name: str) -> Judge | None:
    return _judges.get(name)


def register_directory(path: Path) -> None:
    """Let :func:`decide` find decisions in another directory's ``*.dmn`` files."""
    with _lock:
        if path not in _dirs:
            _dirs.append(path)


def _engine(decision_id: str) -> Any:
    with _lock:
        engine = _engines.get(decision_id)
        if engine is not None:
            return engine
        from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

        parser = BpmnDmnParser()
        for directory in _dirs:
            for dmn in sorted(directory.glob("*.dmn")):
                parser.add_dmn_file(str(dmn))
        if decision_id not in parser.dmn_parsers:
            known = ", ".join(sorted(parser.dmn_parsers))
            raise NotFound(f"no DMN decision {decision_id!r}; known decisions: {known}")
        engine = parser.get_engine(decision_id, None)
        _engines[decision_id] = engine
        return engine


def inputs_of(decision_id: str) -> list[str]:
    """The input expressions a decision reads (what the caller must supply)."""
    return [i.expression for i in _engine(decision_id).decision_table.inputs]


def decide(decision_id: str, facts: dict[str, Any]) -> Decision:
    """Run decision ``decision_id`` on ``facts``; every input the table reads must be given."""
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

    engine = _engine(decision_id)
    missing = [name for name in inputs_of(decision_id) if name.isidentifier() and name not in facts]
    if missing:
        raise InvalidInput(f"decision {decision_id} needs {', '.join(missing)}")
    task = SimpleNamespace(data=dict(facts), workflow=SimpleNamespace(script_engine=PythonScriptEngine()))
    matched = engine.decide(task)
    return Decision(decision_id, dict(engine.result(task)), tuple(str(r.id) for r in matched))


def age_on(born: date, on: date) -> int:
    """Whole years of age on ``on`` (a birthday on 29 February counts on 1 March in common years)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def senior_citizen_card(session: Session, principal: Principal, id_number: str, *, on: date, purpose: str) -> Decision:
    """Decide 上海市敬老卡 eligibility from the registries (person and residence permit), read
    through their audited functions; the facts go to ``senior_citizen_card.dmn``."""
    from onecity.hub.registries import service as registry
    from onecity.hub.registries.models import CertificateStatus, HolderKind
    from onecity.hub.registries.relations import ReadBasis

    basis = ReadBasis.duty("资格审查 / deciding eligibility (the department's review duty)")
    person = registry.person_by_id_number(session, principal, id_number, purpose, basis=basis)
    certs = registry.certificates_of(session, principal, HolderKind.PERSON, person.id, purpose, basis=basis)
    permit = any(
        c.type_code == "residence_permit"
        and c.status == CertificateStatus.VALID
        and (c.valid_until is None or c.valid_until >= on)
        for c in certs
    )
    return decide(
        "senior_citizen_card",
        {
            "age": age_on(person.birth_date, on),
            "shanghai_hukou": person.hukou_region.startswith("31"),
            "residence_permit_valid": permit,
        },
    )


def _senior_citizen_card(
    session: Session, principal: Principal, identifier: str, *, on: date, purpose: str, form: dict[str, Any]
) -> Decision:
    return senior_citizen_card(session, principal, identifier, on=on, purpose=purpose)


register_judge("senior_citizen_card", _senior_citizen_card)
