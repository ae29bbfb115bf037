"""The city-wide refresh inside the database (``refresh_all`` without ids) does exactly what
``refresh`` run policy by policy does: the same offers made and withdrawn, with the same audit
entries and events (both backends, on the services tests' seeded city).

The city is first given a history: offers made a year earlier to part of it, one declined, one
resident dead since and one moved away. The per-policy path is then run over the whole city on
the day, observed, and rolled back; the set-based path is run on the same data and observed the
same way. Offer ids differ between two runs, so each offer is named by its policy and subject.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onecity.benefits import offers
from onecity.benefits.catalogue import POLICIES
from onecity.benefits.facts import Subject
from onecity.benefits.models import BenefitOffer, OfferStatus
from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.events import OutboxMessage
from onecity.hub.registries import life_events
from onecity.hub.registries.models import LegalPerson, Person, PersonStatus
from tests.conftest import SYSTEM
from tests.services.conftest import City

#: Policies whose tables ask that the person be alive and living in the city.
FOR_THE_LIVING = ("old_age_allowance", "senior_card_issue", "senior_flu_vaccine", "social_security_card_issue")
ACTIONS = ("benefits.offer.made", "benefits.offer.withdrawn", "benefits.eligibility.read")


class RolledBack(Exception):
    pass


def history(database: Database, on: date) -> None:
    """A year before ``on``: offers to half the persons and firms, one declined, then a death and a move away."""
    earlier = on - timedelta(days=365)
    with database.transaction() as s:
        for kind, model in ((Subject.PERSON, Person), (Subject.FIRM, LegalPerson)):
            ids = list(s.scalars(select(model.id).where(model.id % 2 == 0)))
            offers.refresh_all(s, SYSTEM, earlier, subject=kind, ids=ids)
    with database.transaction() as s:
        live = list(
            s.scalars(
                select(BenefitOffer)
                .where(BenefitOffer.status == OfferStatus.OFFERED, BenefitOffer.subject_kind == "person")
                .order_by(BenefitOffer.subject_id, BenefitOffer.policy_code)
            )
        )
        assert len(live) >= 3
        live[0].status = OfferStatus.DECLINED  # declined: never made again, never withdrawn
        # two residents holding an offer of a policy for the living who live in the city
        held = [o.subject_id for o in live[1:] if o.policy_code in FOR_THE_LIVING]
        dead, gone = held[0], next(i for i in held if i != held[0])
        person = s.get(Person, gone)
        assert person is not None
        person.status = PersonStatus.MOVED_AWAY
    with database.transaction() as s:
        life_events.register_death(s, SYSTEM, dead)


def observed(s: Session, seq: int, since: str) -> dict[str, Any]:
    """What a refresh left after audit entry ``seq`` and outbox row ``since`` (offers named by policy and subject)."""
    rows = list(s.scalars(select(BenefitOffer)))
    name = {o.id: (o.policy_code, o.subject_kind, o.subject_id) for o in rows}
    state = sorted(
        (
            name[o.id],
            str(o.status),
            o.person_id,
            o.division_code,
            o.amount,
            o.reason,
            tuple(o.rules),
            o.offered_on,
            o.close_reason,
            o.closed_by,
        )
        for o in rows
    )
    entries = sorted(
        (
            e.action,
            e.object_type,
            name.get(e.object_id or "", e.object_id),
            e.subject,
            e.purpose,
            e.division_code,
            e.actor,
            sorted((k, float(v) if k == "amount" else v) for k, v in e.detail.items()),
        )
        for e in s.scalars(select(AuditEntry).where(AuditEntry.seq > seq, AuditEntry.action.in_(ACTIONS)))
    )
    messages = list(s.scalars(select(OutboxMessage).where(OutboxMessage.id > since).order_by(OutboxMessage.id)))
    assert all(uuid.UUID(m.id).version == 7 and m.id > since for m in messages)
    published = sorted(
        (
            m.event_type,
            m.subject,
            m.actor,
            m.reason,
            name[m.payload["offer_id"]],
            sorted((k, float(v) if k == "amount" else v) for k, v in m.payload.items() if k != "offer_id"),
        )
        for m in messages
    )
    return {"offers": state, "entries": entries, "events": published}


def marks(s: Session) -> tuple[int, str]:
    seq = s.scalar(select(func.max(AuditEntry.seq))) or 0
    since = s.scalar(select(func.max(OutboxMessage.id))) or ""
    return int(seq), str(since)


def test_the_city_refresh_in_the_database_equals_the_per_policy_refresh(city: City) -> None:
    on = clock.today()
    history(city.db, on)
    per_policy: dict[str, Any] = {}
    with pytest.raises(RolledBack), city.db.transaction() as s:
        seq, since = marks(s)
        done = [offers.refresh(s, SYSTEM, p.code, on) for p in POLICIES]
        per_policy = observed(s, seq, since)
        counts = {r.policy: (len(r.made), len(r.withdrawn)) for r in done}
        raise RolledBack
    with city.db.transaction() as s:
        seq, since = marks(s)
        tallies = offers.refresh_all(s, SYSTEM, on)
        in_database = observed(s, seq, since)
        made = list(s.scalars(select(BenefitOffer.id).where(BenefitOffer.offered_on == on)))
        scans = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.seq > seq, AuditEntry.action == "benefits.eligibility.scan")
        )
    assert {t.policy: (t.made, t.withdrawn) for t in tallies} == counts
    made_n, withdrawn_n = sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    assert made_n > 100 and withdrawn_n >= 3, "the history gives both kinds of change"
    reasons = {o[8] for o in in_database["offers"] if o[1] == OfferStatus.WITHDRAWN}
    assert any("deceased" in (r or "") for r in reasons) and any("moved away" in (r or "") for r in reasons)
    assert in_database["offers"] == per_policy["offers"]
    assert in_database["entries"] == per_policy["entries"]
    assert in_database["events"] == per_policy["events"]
    assert len(in_database["events"]) == made_n + withdrawn_n
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in made)
    assert scans == len(POLICIES)  # the city's one pass audits each policy, as the per-policy scans did
    with city.db.transaction() as s:
        again = offers.refresh_all(s, SYSTEM, on)
        assert not any(t.made or t.withdrawn for t in again), "a second run changes nothing"
