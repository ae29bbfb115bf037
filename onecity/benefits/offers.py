"""Offers, not applications (免申即享): what the registries show someone is owed is offered to them.

:func:`refresh` runs a policy's compiled query (over the whole city, or only the records a
life event touched) and brings its offers in line with it: an offer for each person or firm it
grants that has none, a withdrawal of each open offer it no longer grants (a death, a move away,
a firm struck off). Nothing is offered that the table does not grant. Every subject offered or
withdrawn is a read of their registry record with the purpose "proactive benefits", one audit
entry each (beside the scan's own entry). :func:`refresh_all` without records does the same for
every policy over the whole city inside the database (:func:`refresh_city`): at the scale of the
city (tens of millions of offers) nothing of them may pass through Python.

The resident (or a firm's legal representative) sees their offers on ``/benefits/offers`` and
:func:`accept` takes one up with one click: a services case of the proactive item is started
and submitted through the ordinary services workflow (prefilled from the registries, the
policy and amount from the offer, the identity held), and the services pre-review decides it
with the policy's own table (the ``benefit_policy`` judge registered here) and approves it
unattended with the rule as its reason. :func:`decline` closes an offer. :func:`object_to`
lets a resident say a policy missed them; the table's decision on their record is stored with
the objection, and an officer of the area answers (:func:`answer`): upheld makes the offer
(only if the table grants it on the registries as they are), rejected says why.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, overload

from sqlalchemy import Date, and_, bindparam, insert, or_, select, text
from sqlalchemy.orm import Session

from onecity.benefits import service as benefits
from onecity.benefits.catalogue import POLICIES, Policy
from onecity.benefits.compile import load_table
from onecity.benefits.events import (
    OBJECTION_ANSWERED,
    OBJECTION_FILED,
    OFFER_ACCEPTED,
    OFFER_DECLINED,
    OFFER_MADE,
    OFFER_WITHDRAWN,
    ObjectionChanged,
    OfferChanged,
)
from onecity.benefits.facts import Record, Subject, latest_born
from onecity.benefits.models import LIVE, BenefitObjection, BenefitOffer, ObjectionStatus, OfferStatus
from onecity.core import audit, clock, events, policy, transition
from onecity.core.db import UTCDateTime, new_id, new_id_sql, ordered_id_sql, reserve_ordered, table_of
from onecity.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from onecity.core.events import EventType
from onecity.core.identity.principal import Principal, system_principal
from onecity.core.identity.roles import Role as R
from onecity.documents import rules
from onecity.hub.registries import relations
from onecity.hub.registries import service as registries
from onecity.hub.registries.models import (
    CertificateStatus,
    HolderKind,
    LegalPerson,
    LegalPersonStatus,
    Person,
    PersonStatus,
)
from onecity.hub.registries.relations import ReadBasis
from onecity.services import service as services

#: The platform agent that makes and withdraws offers (the scan's reader on life events).
AGENT = system_principal("benefits:proactive")
#: The services item a taken-up offer becomes, per subject kind.
ITEMS = {Subject.PERSON: "310000-02-00190-001", Subject.FIRM: "310000-02-00190-002"}
SCOPE = "benefits.objection"
#: Offers written per multi-row insert.
BATCH = 1000
#: It reads registry records on the departments' duty to grant their benefits, never on a resident's behalf.
relations.register_duty_agent(AGENT.id, "proactive benefits (免申即享) on the granting departments' duty")

policy.register_actions(
    {
        "benefits.offer.make": frozenset({R.ADMIN, R.DATA_STEWARD, R.APPROVER}),
        "benefits.objection.list": frozenset({R.ADMIN, R.REVIEWER, R.APPROVER}),
        "benefits.objection.answer": frozenset({R.REVIEWER, R.APPROVER}),
    }
)


def _subject_ref(kind: str, subject_id: int) -> str:
    return f"{'person' if kind == Subject.PERSON.value else 'legal_person'}:{subject_id}"


def _offer_name(o: BenefitOffer) -> str:
    return o.policy_code


def _offer_subject(o: BenefitOffer) -> str | None:
    return f"person:{o.person_id}" if o.person_id is not None else None


OFFERS = transition.Machine(
    BenefitOffer,
    object_type="benefit_offer",
    noun="benefits.offer.noun",
    states="benefits.offer.status.",
    label="offer",
    name=_offer_name,
    subject=_offer_subject,
)


def _objection_subject(o: BenefitObjection) -> str | None:
    return f"person:{o.person_id}"


def _objection_name(o: BenefitObjection) -> str:
    return o.policy_code


OBJECTIONS = transition.Machine(
    BenefitObjection,
    object_type="benefit_objection",
    noun="benefits.objection.noun",
    states="benefits.objection.status.",
    label="objection",
    name=_objection_name,
    subject=_objection_subject,
)


def _changed(o: BenefitOffer, previous: str | None) -> OfferChanged:
    return OfferChanged(
        offer_id=o.id,
        policy_code=o.policy_code,
        subject_kind=o.subject_kind,
        subject_id=o.subject_id,
        division_code=o.division_code,
        previous=previous,
        status=str(o.status),
        amount=o.amount,
        case_id=o.case_id,
    )


# -- making and withdrawing offers -----------------------------------------------------------------


@dataclass
class Refreshed:
    policy: str
    made: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)


def _holders(session: Session, p: Policy, ids: Collection[int]) -> dict[int, tuple[str, int | None, str]]:
    """Each record's division, the person who sees its offers, and its registry status."""
    out: dict[int, tuple[str, int | None, str]] = {}
    chunked = list(ids)
    for i in range(0, len(chunked), 500):
        part = chunked[i : i + 500]
        if p.subject is Subject.PERSON:
            rows: Any = session.execute(
                select(Person.id, Person.division_code, Person.id, Person.status).where(Person.id.in_(part))
            )
        else:
            rows = session.execute(
                select(LegalPerson.id, LegalPerson.division_code, LegalPerson.legal_rep_id, LegalPerson.status).where(
                    LegalPerson.id.in_(part)
                )
            )
        for rid, division, person_id, status in rows:
            out[int(rid)] = (str(division), int(person_id) if person_id is not None else None, str(status))
    return out


def _ended(status: str, on: date) -> str:
    if status == PersonStatus.DECEASED:
        return "资格终止：已死亡 / eligibility ended: deceased"
    if status == PersonStatus.MOVED_AWAY:
        return "资格终止：已迁出本市 / eligibility ended: moved away from the city"
    if status in (LegalPersonStatus.REVOKED, LegalPersonStatus.CANCELLED):
        gone = "吊销" if status == LegalPersonStatus.REVOKED else "注销"
        return f"资格终止：主体已{gone} / eligibility ended: firm {status}"
    return (
        f"资格终止：{on.isoformat()} 登记库数据不再符合政策条件 / "
        f"eligibility ended: the registries no longer meet the conditions on {on.isoformat()}"
    )


def refresh(
    session: Session, principal: Principal, code: str, on: date, ids: Collection[int] | None = None
) -> Refreshed:
    """Bring one policy's offers in line with its table on ``on`` (for the records ``ids`` only, when given)."""
    policy.require(principal, "benefits.offer.make")
    p = benefits.policy_by_code(code)
    table = load_table(p.dmn_path)
    scan = benefits.scan(session, principal, code, on, ids)
    live_q = select(BenefitOffer).where(
        BenefitOffer.policy_code == p.code,
        BenefitOffer.subject_kind == p.subject.value,
        BenefitOffer.status.in_([s.value for s in LIVE]),
    )
    live: dict[int, BenefitOffer] = {}
    chunks: list[list[int] | None] = (
        [None] if ids is None else [list(ids)[i : i + 500] for i in range(0, len(ids), 500)]
    )
    for chunk in chunks:
        q = live_q if chunk is None else live_q.where(BenefitOffer.subject_id.in_(chunk))
        live.update({o.subject_id: o for o in session.scalars(q)})
    new = [rid for rid in scan.granted if rid not in live]
    ended = [o for rid, o in live.items() if rid not in scan.granted and o.status == OfferStatus.OFFERED]
    holders = _holders(session, p, new + [o.subject_id for o in ended])
    out = Refreshed(p.code)
    reads: list[audit.BatchEntry] = []
    made: list[audit.BatchEntry] = []
    rows: list[dict[str, Any]] = []
    published: list[tuple[OfferChanged, str]] = []
    now = clock.now()
    for rid in new:
        division, person_id, _ = holders[rid]
        rule = table.rules[scan.rule[rid]]
        offer_id, amount = new_id(), scan.granted[rid]
        row: dict[str, Any] = {
            "id": offer_id,
            "policy_code": p.code,
            "subject_kind": p.subject.value,
            "subject_id": rid,
            "person_id": person_id,
            "division_code": division,
            "status": OfferStatus.OFFERED.value,
            "amount": amount,
            "reason": rule.reason[:300],
            "rules": [rule.rule_id],
            "offered_on": on,
            "created_at": now,
            "updated_at": now,
        }
        rows.append(row)
        made.append(
            audit.BatchEntry(
                object_type=OFFERS.object_type,
                object_id=offer_id,
                subject=f"person:{person_id}" if person_id is not None else None,
                division_code=division,
                detail={
                    "from": None,
                    "to": OfferStatus.OFFERED.value,
                    "policy": p.code,
                    "rule": rule.rule_id,
                    "amount": amount,
                    "on": on.isoformat(),
                },
            )
        )
        payload = OfferChanged(
            offer_id=offer_id,
            policy_code=p.code,
            subject_kind=p.subject.value,
            subject_id=rid,
            division_code=division,
            previous=None,
            status=OfferStatus.OFFERED.value,
            amount=amount,
            case_id=None,
        )
        published.append((payload, f"{p.code}: {rule.reason}"[:300]))
        out.made.append(offer_id)
        reads.append(_read_entry(p, rid, division, on, "offered"))
    # a city's first run offers thousands: one multi-row insert each for the offers, their audit
    # entries and their events, inside the caller's transaction (a transition each took minutes)
    for i in range(0, len(rows), BATCH):
        session.execute(insert(table_of(BenefitOffer)), rows[i : i + BATCH])
    audit.record_many(session, principal, "benefits.offer.made", made, purpose=benefits.PURPOSE)
    events.publish_many(session, OFFER_MADE, published, principal=principal)
    for o in ended:
        division, _, status = holders[o.subject_id]
        _close(session, principal, o, OfferStatus.WITHDRAWN, OFFER_WITHDRAWN, _ended(status, on), "withdrawn")
        out.withdrawn.append(o.id)
        reads.append(_read_entry(p, o.subject_id, division, on, "withdrawn"))
    audit.record_many(session, principal, "benefits.eligibility.read", reads, purpose=benefits.PURPOSE)
    return out


def _read_entry(p: Policy, rid: int, division: str, on: date, what: str) -> audit.BatchEntry:
    return audit.BatchEntry(
        object_type=p.subject.value,
        object_id=str(rid),
        subject=_subject_ref(p.subject.value, rid),
        division_code=division,
        detail={"policy": p.code, "on": on.isoformat(), "offer": what},
    )


@overload
def refresh_all(
    session: Session, principal: Principal, on: date, *, subject: Subject | None = None, ids: None = None
) -> list[Tally]: ...


@overload
def refresh_all(
    session: Session, principal: Principal, on: date, *, subject: Subject | None = None, ids: Collection[int]
) -> list[Refreshed]: ...


def refresh_all(
    session: Session,
    principal: Principal,
    on: date,
    *,
    subject: Subject | None = None,
    ids: Collection[int] | None = None,
) -> list[Tally] | list[Refreshed]:
    """Every policy (of one subject kind): over the whole city set-based (:func:`refresh_city`, how
    many made and withdrawn), or for the records ``ids`` (a life event's, :func:`refresh` per policy)."""
    if ids is None:
        return refresh_city(session, principal, on, subject=subject)
    return [refresh(session, principal, p.code, on, ids) for p in POLICIES if subject is None or p.subject is subject]


# -- the whole city at once, inside the database ------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """What the city-wide refresh did to one policy's offers (their ids stay in the database)."""

    policy: str
    made: int
    withdrawn: int


#: The city refresh's working tables: temporary (this connection's), dropped when it is done.
#: ``n`` numbers the staged rows (their events' places in a block of ordered ids).
_MADE, _ENDED, _RULES = "benefits_refresh_made", "benefits_refresh_ended", "benefits_refresh_rules"
#: SQLite's keyed copy of the grants (below).
_GRANTED = "benefits_refresh_granted"
_STAGED = (
    "n bigint, id varchar(36), policy_code varchar(40), subject_kind varchar(12), subject_id bigint, "
    "person_id bigint, division_code varchar(12), amount double precision"
)
_TEMPORARY = {
    # each rule of each policy: its id, its reason (the offer's) and the offer event's reason
    _RULES: "policy_code varchar(40), rule integer, rule_id varchar(200), reason varchar(300), said varchar(300)",
    # a grant with no live offer: the offer to make
    _MADE: f"{_STAGED}, rule integer",
    # an open offer no longer granted: the subject's division now, and why it ends (close, event)
    _ENDED: f"{_STAGED}, case_id varchar(36), holder_division varchar(12), reason varchar(300), said varchar(2000)",
}
#: Each kind of subject's registry table and the column naming the person who sees its offers.
_HOLDERS = {Subject.PERSON: ("persons", "h.id"), Subject.FIRM: ("legal_persons", "h.legal_rep_id")}
#: Every registry status a record can be in (what :func:`_ended` says of each).
_STATUSES = tuple(s.value for s in PersonStatus) + tuple(s.value for s in LegalPersonStatus)
_BIND_TYPES: dict[str, Any] = {"now": UTCDateTime(), "on": Date()}


def _run(session: Session, sql: str, **params: Any) -> int:
    """Run one statement of the city refresh: how many rows it wrote (``codes`` is a list, expanded)."""
    stmt = text(sql).bindparams(
        *(bindparam(k, type_=_BIND_TYPES[k]) for k in params if k in _BIND_TYPES),
        *(bindparam(k, expanding=True) for k in params if k == "codes"),
    )
    return int(getattr(session.execute(stmt, params), "rowcount", 0) or 0)


def refresh_city(session: Session, principal: Principal, on: date, *, subject: Subject | None = None) -> list[Tally]:
    """Every policy's offers (of one kind of subject) brought in line with the city on ``on``, inside
    the database: the same offers, withdrawals, audit entries and events as :func:`refresh` run
    policy by policy over the city, and none of their rows in Python.

    :func:`~onecity.benefits.service.scan_city` writes every grant to ``benefit_grants``; one
    ``INSERT … SELECT`` per kind of subject stages the grants with no live offer (their offers'
    ids drawn by the database: :func:`~onecity.core.db.new_id_sql`), one the open offers no longer
    granted (with the reason :func:`_ended` gives for the registry status), in temporary tables.
    The offers to withdraw are locked and read again (one taken up meanwhile is left alone). Then
    from the staged rows: the offers (``INSERT … SELECT``), the withdrawals (one ``UPDATE``), the
    audit entries — ``benefits.offer.made`` or ``.withdrawn`` and ``benefits.eligibility.read``
    for each, appended as :func:`audit.record_many` appends them (the sealer chains them after the
    commit) — and the events, their ordered ids in a block this process reserves
    (:func:`~onecity.core.db.reserve_ordered`). Returns how many were made and withdrawn per policy.
    """
    policy.require(principal, "benefits.offer.make")
    chosen = [p for p in POLICIES if subject is None or p.subject is subject]
    session.flush()
    benefits.scan_city(session, principal, on)
    dialect = session.get_bind().dialect.name
    made, ended = _stage(session, chosen, on, dialect)
    _write(session, principal, on, dialect, made, ended)
    counted: dict[str, list[int]] = {p.code: [0, 0] for p in chosen}
    for i, staged in enumerate((_MADE, _ENDED)):
        for code, n in session.execute(text(f"SELECT policy_code, count(*) FROM {staged} GROUP BY policy_code")):
            counted[str(code)][i] = int(n)
    for name in (*_TEMPORARY, _GRANTED):
        _run(session, f"DROP TABLE IF EXISTS {name}")
    session.expire_all()  # an offer the session holds may have been withdrawn under it
    return [Tally(code, m, w) for code, (m, w) in counted.items()]


def _stage(session: Session, chosen: list[Policy], on: date, dialect: str) -> tuple[int, int]:
    """The offers to make and those to withdraw, in the temporary tables: how many of each (the
    latter before those taken up meanwhile are dropped: the places of their events)."""
    postgres = dialect == "postgresql"
    if postgres:
        # statistics for the anti-joins below: both tables may have just grown by millions of rows
        # (the first day's offers, the scan in this transaction), which autovacuum has not seen yet;
        # planned on stale ones, the withdrawals' anti-join was a nested loop (at scale 0.01 stopped
        # after a minute; hashed, the whole refresh of that day takes 4.5 s)
        _run(session, "ANALYZE benefit_grants, benefit_offers")
    for name, columns in _TEMPORARY.items():
        _run(session, f"DROP TABLE IF EXISTS {name}")
        _run(session, f"CREATE TEMPORARY TABLE {name} ({columns})" + (" ON COMMIT DROP" if postgres else ""))
    session.execute(
        text(f"INSERT INTO {_RULES} VALUES (:code, :rule, :rule_id, :reason, :said)"),
        [
            {
                "code": p.code,
                "rule": i,
                "rule_id": r.rule_id,
                "reason": r.reason[:300],
                "said": f"{p.code}: {r.reason}"[:300],
            }
            for p in chosen
            for i, r in enumerate(load_table(p.dmn_path).rules)
        ],
    )
    granted = "benefit_grants"
    if not postgres:
        # SQLite does not hash an anti-join: it would read the grants (no index: written by the
        # million) once for each open offer. A keyed copy of them instead
        granted = _GRANTED
        _run(session, f"DROP TABLE IF EXISTS {_GRANTED}")
        _run(
            session,
            f"CREATE TEMPORARY TABLE {_GRANTED} (policy_code varchar(40), subject_id bigint, "
            "PRIMARY KEY (policy_code, subject_id)) WITHOUT ROWID",
        )
        _run(session, f"INSERT INTO {_GRANTED} SELECT policy_code, subject_id FROM benefit_grants")
    # what _ended says of each registry status, as one CASE
    words = {f"s{i}": s for i, s in enumerate(_STATUSES)}
    words |= {f"w{i}": _ended(s, on) for i, s in enumerate(_STATUSES)} | {"w_other": _ended("", on)}
    why = "CASE h.status " + " ".join(f"WHEN :s{i} THEN :w{i}" for i in range(len(_STATUSES))) + " ELSE :w_other END"
    made = ended = 0
    for kind in (k for k in Subject if any(p.subject is k for p in chosen)):
        codes = [p.code for p in chosen if p.subject is kind]
        holders, seer = _HOLDERS[kind]
        made += _run(
            session,
            f"INSERT INTO {_MADE} (n, id, policy_code, subject_kind, subject_id, person_id, division_code, amount, "
            f"rule) SELECT :base + row_number() OVER () - 1, {new_id_sql(dialect)}, g.policy_code, '{kind.value}', "
            f"g.subject_id, {seer}, h.division_code, g.amount, g.rule "
            f"FROM benefit_grants g JOIN {holders} h ON h.id = g.subject_id "
            "WHERE g.policy_code IN :codes AND NOT EXISTS (SELECT 1 FROM benefit_offers o "
            f"WHERE o.policy_code = g.policy_code AND o.subject_kind = '{kind.value}' AND o.subject_id = g.subject_id "
            f"AND o.status != '{OfferStatus.WITHDRAWN.value}')",  # the live offers' unique index
            base=made,
            codes=codes,
        )
        ended += _run(
            session,
            f"INSERT INTO {_ENDED} (n, id, policy_code, subject_kind, subject_id, person_id, division_code, amount, "
            "case_id, holder_division, reason, said) "
            "SELECT :base + row_number() OVER () - 1, o.id, o.policy_code, o.subject_kind, o.subject_id, "
            "o.person_id, o.division_code, o.amount, o.case_id, coalesce(h.division_code, o.division_code), "
            f"substr({why}, 1, 300), {why} FROM benefit_offers o LEFT JOIN {holders} h ON h.id = o.subject_id "
            f"WHERE o.status = '{OfferStatus.OFFERED.value}' AND o.subject_kind = '{kind.value}' "
            f"AND o.policy_code IN :codes AND NOT EXISTS (SELECT 1 FROM {granted} g "
            "WHERE g.policy_code = o.policy_code AND g.subject_id = o.subject_id)",
            base=ended,
            codes=codes,
            **words,
        )
    if postgres:
        # lock the offers to withdraw, then let go of any a resident took up or declined meanwhile
        # (SQLite has one writer: nobody did)
        _run(
            session,
            f"SELECT count(*) FROM (SELECT o.id FROM benefit_offers o JOIN {_ENDED} t ON t.id = o.id "
            "FOR UPDATE OF o) AS locked",
        )
        _run(
            session,
            f"DELETE FROM {_ENDED} WHERE NOT EXISTS (SELECT 1 FROM benefit_offers o "
            f"WHERE o.id = {_ENDED}.id AND o.status = '{OfferStatus.OFFERED.value}')",
        )
        for name in _TEMPORARY:
            _run(session, f"ANALYZE {name}")  # temporary tables have no autovacuum: the joins need their sizes
    return made, ended


def _write(session: Session, principal: Principal, on: date, dialect: str, made: int, ended: int) -> None:
    """The staged offers made and withdrawn, their audit entries and their events."""
    obj, arr = ("json_build_object", "json_build_array") if dialect == "postgresql" else ("json_object", "json_array")
    offered, withdrawn = f"'{OfferStatus.OFFERED.value}'", f"'{OfferStatus.WITHDRAWN.value}'"
    now = clock.now()
    rule = f"JOIN {_RULES} r ON r.policy_code = s.policy_code AND r.rule = s.rule"
    _run(
        session,
        "INSERT INTO benefit_offers (id, policy_code, subject_kind, subject_id, person_id, division_code, status, "
        "amount, reason, rules, offered_on, created_at, updated_at) "
        "SELECT s.id, s.policy_code, s.subject_kind, s.subject_id, s.person_id, s.division_code, "
        f"{offered}, s.amount, r.reason, {arr}(r.rule_id), :on, :now, :now FROM {_MADE} s {rule}",
        on=on,
        now=now,
    )
    _run(
        session,
        f"UPDATE benefit_offers SET status = {withdrawn}, closed_at = :now, closed_by = :actor, "
        f"close_reason = t.reason, updated_at = :now FROM {_ENDED} t WHERE benefit_offers.id = t.id",
        now=now,
        actor=principal.ref,
    )
    # the audit entries: what transition.Change.done and _read_entry give, one INSERT … SELECT each
    append = (
        "INSERT INTO audit_log (at, actor, actor_name, action, object_type, object_id, subject, purpose, outcome, "
        f"division_code, detail) SELECT :now, :actor, :actor_name, :action, {{object_type}}, {{object_id}}, {{who}}, "
        f":purpose, '{audit.Outcome.SUCCESS.value}', {{division}}, {obj}({{detail}}) FROM {{staged}}"
    )
    person = "CASE WHEN s.person_id IS NULL THEN NULL ELSE 'person:' || s.person_id END"
    ref = f"CASE WHEN s.subject_kind = '{Subject.PERSON.value}' THEN 'person:' ELSE 'legal_person:' END || s.subject_id"
    day = "CAST(:on_text AS VARCHAR(10))"
    entries = (
        (
            "benefits.offer.made",
            f"{_MADE} s {rule}",
            f"'{OFFERS.object_type}'",
            "s.id",
            person,
            "s.division_code",
            f"'from', NULL, 'to', {offered}, 'policy', s.policy_code, 'rule', r.rule_id, 'amount', s.amount, "
            f"'on', {day}",
        ),
        (
            "benefits.offer.withdrawn",
            f"{_ENDED} s",
            f"'{OFFERS.object_type}'",
            "s.id",
            person,
            "s.division_code",
            f"'from', {offered}, 'to', {withdrawn}, 'policy', s.policy_code, 'reason', s.reason",
        ),
        *(
            (
                "benefits.eligibility.read",
                f"{staged} s",
                "s.subject_kind",
                "CAST(s.subject_id AS VARCHAR(20))",
                ref,
                division,
                f"'policy', s.policy_code, 'on', {day}, 'offer', '{what}'",
            )
            for staged, division, what in (
                (_MADE, "s.division_code", "offered"),
                (_ENDED, "s.holder_division", "withdrawn"),
            )
        ),
    )
    for action, staged, object_type, object_id, who, division, detail in entries:
        _run(
            session,
            append.format(
                object_type=object_type, object_id=object_id, who=who, division=division, detail=detail, staged=staged
            ),
            now=now,
            actor=principal.ref,
            actor_name=principal.name,
            action=action,
            purpose=benefits.PURPOSE,
            on_text=on.isoformat(),
        )
    # the events: OfferChanged as _changed gives it, ids ordered as events.publish gives them
    publish = (
        "INSERT INTO outbox (id, subject, event_type, payload, actor, reason, occurred_at, published_at, attempts) "
        f"SELECT {ordered_id_sql('CAST(:first AS BIGINT) + s.n', dialect)}, :subject, :type, "
        f"{obj}('offer_id', s.id, 'policy_code', s.policy_code, 'subject_kind', s.subject_kind, 'subject_id', "
        "s.subject_id, 'division_code', s.division_code, 'previous', {previous}, 'status', {status}, "
        "'amount', s.amount, 'case_id', {case}), :actor, {said}, :now, NULL, 0 FROM {staged}"
    )
    for et, n, staged, previous, status, case_id, said in (
        (OFFER_MADE, made, f"{_MADE} s {rule}", "NULL", offered, "NULL", "r.said"),
        (OFFER_WITHDRAWN, ended, f"{_ENDED} s", offered, withdrawn, "s.case_id", "s.said"),
    ):
        if n:
            _run(
                session,
                publish.format(previous=previous, status=status, case=case_id, said=said, staged=staged),
                first=reserve_ordered(n),
                subject=et.subject,
                type=et.name,
                actor=principal.ref,
                now=now,
            )
    if made or ended:
        events.written(session)  # no ids (tens of millions): the relay's sweep sends them


def _close(
    session: Session,
    principal: Principal,
    offer: BenefitOffer,
    status: OfferStatus,
    event: EventType[OfferChanged],
    reason: str,
    verb: str,
) -> None:
    change = transition.locked(session, principal, OFFERS, offer)
    offer.status = status
    offer.closed_at = clock.now()
    offer.closed_by = principal.ref
    offer.close_reason = reason[:300]
    change.done(
        f"benefits.offer.{verb}",
        event,
        _changed(offer, change.before),
        reason=reason,
        purpose=benefits.PURPOSE,
        detail={"policy": offer.policy_code, "reason": reason[:300]},
    )


# -- the resident's side ---------------------------------------------------------------------------


def my_offers(session: Session, principal: Principal, limit: int = 200) -> list[BenefitOffer]:
    """The offers a resident sees: their own and their firms' (as legal representative), newest first."""
    person = services.linked_person(session, principal)
    return list(
        session.scalars(
            select(BenefitOffer)
            .where(BenefitOffer.person_id == person.id)
            .order_by(BenefitOffer.status != OfferStatus.OFFERED, BenefitOffer.created_at.desc())
            .limit(limit)
        )
    )


def _own(session: Session, principal: Principal, offer: BenefitOffer) -> None:
    person = services.linked_person(session, principal)
    if offer.person_id != person.id:
        raise NotFound(f"no offer {offer.id} for you")  # another resident's offer is not disclosed


def _begin(session: Session, principal: Principal, offer_id: str, doing: str) -> transition.Change[BenefitOffer]:
    services.linked_person(session, principal)  # residents only: staff are refused before any offer is read
    return transition.begin(
        session,
        principal,
        OFFERS,
        offer_id,
        action=None,
        guard=_own,
        allowed=(OfferStatus.OFFERED,),
        missing=f"no offer {offer_id}",
        doing=doing,
    )


def accept(session: Session, principal: Principal, offer_id: str) -> BenefitOffer:
    """Take an offer up: its case is started (prefilled, identity held) and submitted; the services
    pre-review decides it with the policy's table and approves it unattended."""
    change = _begin(session, principal, offer_id, "accepted")
    offer = change.row
    p = benefits.policy_by_code(offer.policy_code)
    purpose = f"{benefits.PURPOSE}（领取 {p.name_zh}）"
    values = {"policy": offer.policy_code, "amount": offer.amount}
    if p.subject is Subject.PERSON:
        person = session.get(Person, offer.subject_id)
        if person is None:
            raise NotFound(f"no person {offer.subject_id}")
        case = services.start_case(
            session, principal, ITEMS[p.subject], id_number=person.id_number, offer=values, purpose=purpose
        )
    else:
        firm = session.get(LegalPerson, offer.subject_id)
        if firm is None:
            raise NotFound(f"no firm {offer.subject_id}")
        case = services.start_case(session, principal, ITEMS[p.subject], uscc=firm.uscc, offer=values, purpose=purpose)
    services.submit(session, principal, case.id)
    offer.status = OfferStatus.ACCEPTED
    offer.case_id = case.id
    offer.closed_at = clock.now()
    offer.closed_by = principal.ref
    change.done(
        "benefits.offer.accepted",
        OFFER_ACCEPTED,
        _changed(offer, change.before),
        reason=f"{p.code} taken up: case {case.number}",
        purpose=benefits.PURPOSE,
        detail={"policy": p.code, "case": case.number},
    )
    return offer


def decline(session: Session, principal: Principal, offer_id: str, reason: str = "") -> BenefitOffer:
    """Say no to an offer: it stays declined and is not made again."""
    change = _begin(session, principal, offer_id, "declined")
    offer = change.row
    why = reason.strip()[:300] or "本人放弃 / declined by the resident"
    offer.status = OfferStatus.DECLINED
    offer.closed_at = clock.now()
    offer.closed_by = principal.ref
    offer.close_reason = why
    change.done(
        "benefits.offer.declined",
        OFFER_DECLINED,
        _changed(offer, change.before),
        reason=why,
        purpose=benefits.PURPOSE,
        detail={"policy": offer.policy_code, "reason": why},
    )
    return offer


# -- the benefit's own eligibility in the services pre-review ---------------------------------------


def _record_read(session: Session, principal: Principal, p: Policy, identifier: str, purpose: str, on: date) -> Record:
    """One person's or firm's record and valid certificates, read through the registries' audited door."""
    basis = ReadBasis.duty(f"{benefits.PURPOSE}：资格审查 / deciding eligibility")
    if p.subject is Subject.PERSON:
        row: Any = registries.person_by_id_number(session, principal, identifier, purpose, basis=basis)
        kind = HolderKind.PERSON
    else:
        row = registries.legal_person_by_uscc(session, principal, identifier)
        kind = HolderKind.LEGAL_PERSON
    certs = registries.certificates_of(session, principal, kind, row.id, purpose, basis=basis)
    return Record(
        row,
        frozenset(
            c.type_code
            for c in certs
            if c.status == CertificateStatus.VALID and (c.valid_until is None or c.valid_until >= on)
        ),
    )


def judge(
    session: Session, principal: Principal, identifier: str, *, on: date, purpose: str, form: dict[str, Any]
) -> rules.Decision:
    """The ``benefit_policy`` eligibility of a proactive item's case: the table of the policy its form names."""
    code = str(form.get("benefit_policy") or "")
    p = benefits.policy_by_code(code)
    record = _record_read(session, principal, p, identifier, f"{benefits.PURPOSE}；{purpose}", on)
    return benefits.decide(p, record, on)


rules.register_judge("benefit_policy", judge)


# -- objections: "I think I was missed" -------------------------------------------------------------


def _objection_changed(o: BenefitObjection) -> ObjectionChanged:
    return ObjectionChanged(
        objection_id=o.id,
        policy_code=o.policy_code,
        subject_kind=o.subject_kind,
        subject_id=o.subject_id,
        division_code=o.division_code,
        status=str(o.status),
        offer_id=o.offer_id,
    )


def object_to(
    session: Session, principal: Principal, policy_code: str, text: str, *, uscc: str | None = None
) -> BenefitObjection:
    """A resident says ``policy_code`` should have found them (or, with ``uscc``, a firm they represent).

    The table is run on their record now and its decision kept with the objection for the
    officer; a subject who already has an offer of it is told so instead.
    """
    person = services.linked_person(session, principal)
    p = benefits.policy_by_code(policy_code)
    words = text.strip()
    if not 5 <= len(words) <= 2000:
        raise InvalidInput("say in 5 to 2,000 characters why you think this benefit is for you")
    if p.subject is Subject.FIRM:
        if not uscc:
            raise InvalidInput(f"{p.name_en} is for firms: name the firm (its credit code) you represent")
        firm = registries.legal_person_by_uscc(session, AGENT, uscc.strip().upper())
        if firm.legal_rep_id != person.id:
            raise PermissionDenied("only the firm's legal representative can object for it")
        subject_id, division, identifier = firm.id, firm.division_code, firm.uscc
    else:
        subject_id, division, identifier = person.id, person.division_code, person.id_number
    existing = session.scalar(
        select(BenefitOffer).where(
            BenefitOffer.policy_code == p.code,
            BenefitOffer.subject_kind == p.subject.value,
            BenefitOffer.subject_id == subject_id,
            BenefitOffer.status.in_([s.value for s in LIVE]),
        )
    )
    if existing is not None:
        raise Conflict(f"you already have an offer of {p.name_en} ({existing.status}): see /benefits/offers")
    pending = session.scalar(
        select(BenefitObjection.id).where(
            BenefitObjection.policy_code == p.code,
            BenefitObjection.subject_id == subject_id,
            BenefitObjection.subject_kind == p.subject.value,
            BenefitObjection.status == ObjectionStatus.OPEN,
        )
    )
    if pending is not None:
        raise Conflict(f"your objection about {p.name_en} is waiting for an officer's answer")
    on = clock.today()
    purpose = f"{benefits.PURPOSE}（异议：{p.name_zh}）"
    decision = benefits.decide(p, _record_read(session, AGENT, p, identifier, purpose, on), on)
    objection = BenefitObjection(
        id=new_id(),
        policy_code=p.code,
        subject_kind=p.subject.value,
        subject_id=subject_id,
        person_id=person.id,
        division_code=division,
        department=p.department,
        status=ObjectionStatus.OPEN,
        text=words,
        decision={
            "on": on.isoformat(),
            "eligible": bool(decision.outputs.get("eligible")),
            "reason": str(decision.outputs.get("reason") or ""),
            "amount": float(decision.outputs.get("amount") or 0),
            "rules": list(decision.rules),
        },
    )
    change = transition.created(session, principal, OBJECTIONS, objection)
    change.done(
        "benefits.objection.filed",
        OBJECTION_FILED,
        _objection_changed(objection),
        reason=words[:300],
        purpose=benefits.PURPOSE,
        detail={"policy": p.code, "eligible_now": objection.decision["eligible"]},
    )
    return objection


def my_objections(session: Session, principal: Principal, limit: int = 100) -> list[BenefitObjection]:
    person = services.linked_person(session, principal)
    return list(
        session.scalars(
            select(BenefitObjection)
            .where(BenefitObjection.person_id == person.id)
            .order_by(BenefitObjection.created_at.desc())
            .limit(limit)
        )
    )


def objections(
    session: Session, principal: Principal, *, status: ObjectionStatus | None = ObjectionStatus.OPEN, limit: int = 100
) -> list[BenefitObjection]:
    """The officers' queue: objections in their area, oldest first."""
    policy.require(principal, "benefits.objection.list")
    q = select(BenefitObjection).where(policy.scope_clause(session, principal, SCOPE, BenefitObjection.division_code))
    if status is not None:
        q = q.where(BenefitObjection.status == status)
    rows = list(session.scalars(q.order_by(BenefitObjection.created_at).limit(limit)))
    audit.record_many(
        session,
        principal,
        "benefits.objection.queued_read",
        [
            audit.BatchEntry(
                object_type="benefit_objection",
                object_id=o.id,
                subject=f"person:{o.person_id}",
                division_code=o.division_code,
                detail={"policy": o.policy_code},
            )
            for o in rows
        ],
        purpose=benefits.PURPOSE,
    )
    return rows


def answer(session: Session, principal: Principal, objection_id: str, outcome: str, text: str) -> BenefitObjection:
    """An officer answers an objection: ``upheld`` makes the offer (when the table grants it on the
    registries as they are today), ``rejected`` says why; either way the answer is the resident's to read."""
    change = transition.begin(
        session,
        principal,
        OBJECTIONS,
        objection_id,
        action="benefits.objection.answer",
        guard=transition.in_area(SCOPE),
        allowed=(ObjectionStatus.OPEN,),
        missing=f"no objection {objection_id}",
        doing="answered",
    )
    o = change.row
    words = text.strip()
    if outcome not in (ObjectionStatus.UPHELD, ObjectionStatus.REJECTED):
        raise InvalidInput("an answer upholds or rejects the objection (outcome upheld or rejected)")
    if len(words) < 5:
        raise InvalidInput("write the answer the resident will read (at least 5 characters)")
    if outcome == ObjectionStatus.UPHELD:
        on = clock.today()
        made = refresh(session, AGENT, o.policy_code, on, [o.subject_id])
        if not made.made:
            p = benefits.policy_by_code(o.policy_code)
            raise Conflict(
                f"the registries still do not meet {p.name_en}'s conditions for this "
                f"{'resident' if p.subject is Subject.PERSON else 'firm'}: correct the registry record "
                "first (at a counter), then uphold the objection, or reject it saying why"
            )
        o.offer_id = made.made[0]
        offer = session.get(BenefitOffer, o.offer_id)
        if offer is not None:
            offer.objection_id = o.id
    o.status = ObjectionStatus(outcome)
    o.answer = words[:2000]
    o.answered_by = principal.ref
    o.answered_at = clock.now()
    change.done(
        f"benefits.objection.{outcome}",
        OBJECTION_ANSWERED,
        _objection_changed(o),
        reason=words[:300],
        purpose=benefits.PURPOSE,
        detail={"policy": o.policy_code, "outcome": outcome, "offer": o.offer_id},
    )
    return o


# -- birthdays and anniversaries: the day someone's age crosses a table's threshold -----------------


def thresholds(subject: Subject) -> set[int]:
    """Every age (or firm age) at which some table's decision may change: each literal it compares
    the age with, and the next year (``> 64`` changes at 65)."""
    fact = "age" if subject is Subject.PERSON else "firm_age"
    out: set[int] = set()
    for p in POLICIES:
        if p.subject is not subject:
            continue
        for rule in load_table(p.dmn_path).rules:
            for c in rule.conditions:
                if c.fact != fact:
                    continue
                values = c.value if isinstance(c.value, tuple) else (c.value,)
                out.update(n for v in values if isinstance(v, int) for n in (v, v + 1) if n >= 0)
    return out


def turned_today(session: Session, subject: Subject, on: date) -> list[int]:
    """The persons (or firms) whose age reached one of :func:`thresholds` on ``on``: born in the
    day's window of each threshold (index-friendly date ranges, 29 February as ``age_on`` counts it)."""
    column: Any = Person.birth_date if subject is Subject.PERSON else LegalPerson.established_on
    model: Any = Person if subject is Subject.PERSON else LegalPerson
    yesterday = on - timedelta(days=1)
    windows = [
        and_(column > latest_born(n, yesterday), column <= latest_born(n, on)) for n in sorted(thresholds(subject))
    ]
    if not windows:
        return []
    return list(session.scalars(select(model.id).where(or_(*windows)).order_by(model.id)))


def birthdays(session: Session, principal: Principal, on: date) -> list[Refreshed]:
    """Re-decide, for every policy, the persons and firms whose age crossed a threshold on ``on``
    (a 60th or 80th birthday, a child turning 3, a firm's third anniversary)."""
    out: list[Refreshed] = []
    for subject in (Subject.PERSON, Subject.FIRM):
        ids = turned_today(session, subject, on)
        if ids:
            out += refresh_all(session, principal, on, subject=subject, ids=ids)
    return out
