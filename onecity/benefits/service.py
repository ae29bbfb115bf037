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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Column, Engine, MetaData, Table, delete, func, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, CreateTable

from onecity.benefits.catalogue import BY_CODE, POLICIES, RULES_DIR, Policy
from onecity.benefits.compile import Span, eligibility_query, grants, load_table
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
#: Sessions that write the city's scan at once on PostgreSQL, each over a share of the persons and of
#: the firms (the machine's two cores; PostgreSQL 15 runs an ``INSERT … SELECT`` in one process).
SCAN_SESSIONS = 2


def scan_city(session: Session, principal: Principal, on: date, *, sessions: int = SCAN_SESSIONS) -> dict[str, int]:
    """Every policy over every person and firm on ``on``, written inside the database to
    :data:`~onecity.benefits.models.benefit_grants` (replacing the last scan's): one statement per kind
    of subject evaluates all its policies in one pass (:func:`onecity.benefits.compile.grants`), so
    nothing comes into Python row by row; on PostgreSQL ``sessions`` statements at once, each over a
    share of the records (:func:`_write_shares`). Returns the count granted per policy; one audit
    entry per policy, as :func:`scan` leaves."""
    policy.require(principal, "benefits.eligibility.scan")
    chosen = {subject: [p for p in POLICIES if p.subject is subject] for subject in Subject}
    if session.get_bind().dialect.name == "postgresql":
        _write_shares(session, chosen, on, max(1, sessions))
    else:
        session.execute(delete(benefit_grants))
        for subject in Subject:
            session.execute(insert(benefit_grants).from_select(_COLUMNS, grants(subject, chosen[subject], on)))
    counts = {
        str(code): int(n)
        for code, n in session.execute(
            select(benefit_grants.c.policy_code, func.count()).group_by(benefit_grants.c.policy_code)
        )
    }
    for p in POLICIES:
        _audit_scan(session, principal, p, on, counts.get(p.code, 0), city=True)
    return {p.code: counts.get(p.code, 0) for p in POLICIES}


_COLUMNS = [c.name for c in benefit_grants.c]
#: Where the PostgreSQL scan is written before it takes the place of ``benefit_grants``: the model's
#: columns (types, ``NOT NULL``), UNLOGGED, its indexes made after the rename.
_NEXT = Table(
    "benefit_grants_next",
    MetaData(),
    *(Column(c.name, c.type, nullable=c.nullable) for c in benefit_grants.c),
    prefixes=["UNLOGGED"],
)


def _write_shares(session: Session, chosen: dict[Subject, list[Policy]], on: date, sessions: int) -> None:
    """PostgreSQL: the grants written by ``sessions`` connections at once into a new table, which then
    takes the place of ``benefit_grants`` in the caller's transaction.

    Session ``i`` takes the ``i``-th of ``sessions`` equal id ranges of the persons and of the firms
    (:func:`onecity.benefits.compile.grants` with a ``span``), in a transaction of its own that reads
    the caller's snapshot (``pg_export_snapshot``): every share sees the registries as the caller
    does, committed changes only. The shares' rows go to ``benefit_grants_next``, a table no reader
    looks at; the caller's transaction then drops the old table and renames the new one, so readers
    see the last scan until it commits and never a part of this one, and a failure anywhere leaves
    the last scan as it was (a partly written ``benefit_grants_next`` is dropped, here or by the next
    scan). The new table is made from the model (:data:`_NEXT`), so it is the table migration 0033
    made; no other connection touches ``benefit_grants`` itself. The caller's transaction reads
    committed rows (PostgreSQL's default): its count after the rename reads the shares' rows."""
    session.execute(text(f"SET LOCAL work_mem = '{SCAN_WORK_MEM}'"))
    # one scan at a time: this mode conflicts with itself, not with the readers of the last scan
    session.execute(text("LOCK TABLE benefit_grants IN SHARE ROW EXCLUSIVE MODE"))
    engine = session.get_bind().engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        _NEXT.drop(conn, checkfirst=True)
        conn.execute(CreateTable(_NEXT))
    snapshot = str(session.scalar(text("SELECT pg_export_snapshot()")))
    spans = {subject: _spans(session, subject, sessions) for subject in Subject}
    shares = [
        [grants(subject, chosen[subject], on, span=spans[subject][i], dialect="postgresql") for subject in Subject]
        for i in range(sessions)
    ]
    try:
        with ThreadPoolExecutor(sessions, thread_name_prefix="benefits-scan") as pool:
            for done in [pool.submit(_write_share, engine, snapshot, share) for share in shares]:
                done.result()
    except BaseException:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            _NEXT.drop(conn, checkfirst=True)
        raise
    session.execute(text("DROP TABLE benefit_grants"))
    session.execute(text(f"ALTER TABLE {_NEXT.name} RENAME TO benefit_grants"))
    for index in benefit_grants.indexes:
        session.execute(CreateIndex(index))


def _spans(session: Session, subject: Subject, n: int) -> list[Span]:
    """``n`` ranges of equal width that cover the ids of ``subject``'s records."""
    model: Any = Person if subject is Subject.PERSON else LegalPerson
    low, high = session.execute(select(func.min(model.id), func.max(model.id))).one()
    if low is None:
        return [(0, 0)] * n
    width = -(-(int(high) - int(low) + 1) // n)
    return [(int(low) + i * width, int(low) + (i + 1) * width) for i in range(n)]


def _write_share(engine: Engine, snapshot: str, queries: list[Any]) -> None:
    """One session's share of the scan, in its own transaction on the caller's snapshot."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        conn.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        conn.execute(text(f"SET LOCAL work_mem = '{SCAN_WORK_MEM}'"))
        for query in queries:
            conn.execute(insert(_NEXT).from_select(_COLUMNS, query))


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
