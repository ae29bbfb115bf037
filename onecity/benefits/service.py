"""Finding who a benefit is for: the set-based scan, and the per-record decision it must agree with.

:func:`scan` runs one policy's compiled query (:mod:`onecity.benefits.compile`) and returns
everyone it grants with the amount (a life event's few records, or one policy over the city);
:func:`scan_city` runs every policy over the whole city in one pass per kind of subject and
writes the result inside the database (``benefit_grants``), returning the counts;
:func:`decide_record` asks SpiffWorkflow's DMN engine about one person or firm, from facts read
for that record alone. They are the same decision: the tests compare them on both backends,
``bench/benefits_scan.py`` times them.

Reading the registries to find who is eligible is a read of personal data with the purpose
"proactive benefits": a scan leaves one audit entry naming the policy, the day and how many
records it granted (a per-subject entry at the scale of the city would be millions of rows
per scan; the subjects are audited one by one when something is done for them, an offer).
The per-record decision audits the one subject it reads.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from onecity.benefits.catalogue import BY_CODE, POLICIES, RULES_DIR, Policy
from onecity.benefits.compile import eligibility_query, grants, load_table
from onecity.benefits.facts import FACTS, Record, Subject
from onecity.benefits.models import benefit_grants
from onecity.core import audit, policy
from onecity.core.errors import NotFound
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import Role as R
from onecity.documents import rules
from onecity.hub.registries.models import Certificate, CertificateStatus, HolderKind, LegalPerson, Person

PURPOSE = "proactive benefits: 免申即享资格比对"

policy.register_actions({"benefits.eligibility.scan": frozenset({R.ADMIN, R.DATA_STEWARD, R.APPROVER})})
rules.register_directory(RULES_DIR)


def policy_by_code(code: str) -> Policy:
    try:
        return BY_CODE[code]
    except KeyError:
        raise NotFound(f"no benefit policy {code!r}; known: {', '.join(sorted(BY_CODE))}") from None


@dataclass(frozen=True)
class ScanResult:
    policy: str
    on: date
    #: record id → amount (CNY)
    granted: dict[int, float]
    #: record id → the index of the table's rule that granted it
    rule: dict[int, int] = field(default_factory=dict)


def scan(session: Session, principal: Principal, code: str, on: date, ids: Collection[int] | None = None) -> ScanResult:
    """Everyone the policy ``code`` grants on ``on``, by one query over the registries (only the
    records ``ids``, when given: the people a life event touched)."""
    policy.require(principal, "benefits.eligibility.scan")
    p = policy_by_code(code)
    granted: dict[int, float] = {}
    rule: dict[int, int] = {}
    chunks = [None] if ids is None else [list(ids)[i : i + 500] for i in range(0, len(ids), 500)]
    for chunk in chunks:
        for row in session.execute(eligibility_query(p, on, chunk)):
            granted[int(row[0])] = float(row[1])
            rule[int(row[0])] = int(row[2])
    _audit_scan(session, principal, p, on, len(granted), **({"records": len(ids)} if ids is not None else {}))
    return ScanResult(p.code, on, granted, rule)


def _audit_scan(session: Session, principal: Principal, p: Policy, on: date, granted: int, **detail: Any) -> None:
    """The one audit entry of a scan of policy ``p``: the day, the subject, how many it granted
    (``detail``: how many records were read, or that it was the city's scan)."""
    audit.record(
        session,
        principal,
        "benefits.eligibility.scan",
        object_type="benefit_policy",
        object_id=p.code,
        purpose=PURPOSE,
        detail={"on": on.isoformat(), "subject": p.subject.value, "granted": granted, **detail},
    )


def scan_all(session: Session, principal: Principal, on: date) -> list[ScanResult]:
    return [scan(session, principal, p.code, on) for p in POLICIES]


#: PostgreSQL's memory for the scan's hashes and sorts (the certificates aggregated per holder, the
#: join with the granting rules), for this transaction only.
SCAN_WORK_MEM = "256MB"


def scan_city(session: Session, principal: Principal, on: date) -> dict[str, int]:
    """Every policy over every person and firm on ``on``, written inside the database to
    :data:`~onecity.benefits.models.benefit_grants` (emptied first): one statement per kind of
    subject evaluates all its policies in one pass (:func:`onecity.benefits.compile.grants`), so
    nothing comes into Python row by row. Returns the count granted per policy; one audit entry per
    policy, as :func:`scan` leaves."""
    policy.require(principal, "benefits.eligibility.scan")
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{SCAN_WORK_MEM}'"))
        session.execute(text("TRUNCATE benefit_grants"))
    else:
        session.execute(delete(benefit_grants))
    for subject in Subject:
        chosen = [p for p in POLICIES if p.subject is subject]
        found = grants(subject, chosen, on, dialect=dialect)
        session.execute(
            insert(benefit_grants).from_select(["policy_code", "subject_id", "rule", "amount", "scanned_on"], found)
        )
    counts = {
        str(code): int(n)
        for code, n in session.execute(
            select(benefit_grants.c.policy_code, func.count()).group_by(benefit_grants.c.policy_code)
        )
    }
    for p in POLICIES:
        _audit_scan(session, principal, p, on, counts.get(p.code, 0), city=True)
    return {p.code: counts.get(p.code, 0) for p in POLICIES}


def read_record(session: Session, subject: Subject, record_id: int, on: date) -> Record:
    """One person's or firm's row and the certificate types they hold valid on ``on``."""
    model: Any = Person if subject is Subject.PERSON else LegalPerson
    row = session.get(model, record_id)
    if row is None:
        raise NotFound(f"no {subject.value} {record_id}")
    kind = HolderKind.PERSON if subject is Subject.PERSON else HolderKind.LEGAL_PERSON
    certs = session.execute(
        select(Certificate.type_code, Certificate.valid_until).where(
            Certificate.holder_kind == kind,
            Certificate.holder_id == record_id,
            Certificate.status == CertificateStatus.VALID,
        )
    )
    return Record(row, frozenset(t for t, until in certs if until is None or until >= on))


def decide(p: Policy, record: Record, on: date) -> rules.Decision:
    """The DMN engine's decision for one record (facts computed in Python, the table run by SpiffWorkflow)."""
    facts = {name: FACTS[name].value(record, on) for name in load_table(p.dmn_path).inputs}
    return rules.decide(p.decision_id, facts)


def decide_record(session: Session, principal: Principal, code: str, record_id: int, on: date) -> rules.Decision:
    """Is this one person or firm eligible? Read and audited for this subject alone."""
    policy.require(principal, "benefits.eligibility.scan")
    p = policy_by_code(code)
    record = read_record(session, p.subject, record_id, on)
    ident = record.row.id_number if p.subject is Subject.PERSON else record.row.uscc
    audit.personal_read(
        session,
        principal,
        "benefits.eligibility.scan",
        ident,
        PURPOSE,
        object_type=p.subject.value,
        division_code=record.row.division_code,
    )
    return decide(p, record, on)


def granted_per_record(session: Session, p: Policy, ids: list[int], on: date) -> dict[int, float]:
    """The per-record path over ``ids``: what the set-based scan must equal (tests, the bench)."""
    out: dict[int, float] = {}
    for record_id in ids:
        d = decide(p, read_record(session, p.subject, record_id, on), on)
        if d.outputs.get("eligible"):
            out[record_id] = float(d.outputs.get("amount") or 0)
    return out
