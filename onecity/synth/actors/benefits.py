"""Proactive benefits (免申即享) in simulated time: the daily scan makes offers, residents answer them.

* **the daily scan** — once each simulated Shanghai day (and at the start), every policy's table
  is run over the whole city and its offers brought in line (:func:`offers.refresh_all`: new
  offers in bulk, withdrawals of what no longer holds: the day's birthdays among them); the
  registries' life events (births, deaths, moves, new and closed firms) are re-decided as they
  happen by the benefits part's own consumers, which the simulation delivers each step;
* **residents** — an offer reaches a resident with a portal account (the simulated accounts;
  residents without one are reached by letter or at a counter, which the simulation does not
  model); each answers after a delay (exponential, mean 36 hours — an assumption): 90 % take it
  up with one click, 10 % decline (assumption);
* **ground truth** — every offer made is checked against the DMN engine run per record on the
  registries' facts as they were when it was made (not the compiled query that made it): an
  offer the per-record decision does not grant is a ``proactive_false_offers``, which must be 0.
  A city's first scan makes tens of thousands of offers: a seeded sample of them
  (:data:`FIRST_RUN_CHECKED`) is checked, every later offer is.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from onecity.benefits import offers
from onecity.benefits import service as benefits
from onecity.benefits.catalogue import POLICIES
from onecity.benefits.models import BenefitOffer, OfferStatus
from onecity.core import clock
from onecity.core.db import Database
from onecity.core.errors import DomainError
from onecity.core.identity import service as identity
from onecity.core.identity.models import User
from onecity.core.identity.principal import Principal
from onecity.hub.sharing.models import ResidentLink
from onecity.services.models import Case, CaseStatus

log = logging.getLogger(__name__)

ACCEPTED_SHARE = 0.9
#: Mean delay between an offer and the resident's answer (hours).
ANSWER_HOURS = 36.0
#: Offers of the first, city-wide scan checked against the per-record decision (all later ones are).
FIRST_RUN_CHECKED = 3000


@dataclass
class ProactiveActor:
    scale: float
    name: str = "services"
    #: Mean delay between an offer and the resident's answer (hours).
    answer_hours: float = ANSWER_HOURS
    #: Offers of the first, city-wide scan checked against the per-record decision (a sample).
    first_run_checked: int = FIRST_RUN_CHECKED
    #: The policies the daily scan runs (None: every policy; a test runs one or two).
    policies: tuple[str, ...] | None = None
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: Simulated day → offers made and taken up that day (the month's report charts them).
    per_day: dict[str, dict[str, int]] = field(default_factory=dict)
    _scanned_on: date | None = field(default=None, init=False)
    _first: bool = field(default=True, init=False)
    _since: datetime | None = field(default=None, init=False)
    _seen: set[str] = field(default_factory=set, init=False)
    #: (when, offer id, accept?) answers the residents will give.
    _answers: list[tuple[datetime, str, bool]] = field(default_factory=list, init=False)
    _residents: dict[int, Principal] = field(default_factory=dict, init=False)
    _db: Database | None = field(default=None, init=False)

    def _day(self, on: date) -> dict[str, int]:
        return self.per_day.setdefault(on.isoformat(), defaultdict(int))

    def _load_residents(self, db: Database) -> None:
        with db.sessions() as s:
            for person_id, user in s.execute(
                select(ResidentLink.person_id, User).join(User, User.id == ResidentLink.user_id)
            ):
                self._residents.setdefault(int(person_id), identity.principal_for_user(user))

    def step(self, db: Database, start: datetime, end: datetime, rng: np.random.Generator) -> None:
        self._db = db
        today = clock.local(start).date()
        if self._scanned_on != today:
            self._scanned_on = today
            self._load_residents(db)  # the services actor opens its accounts on its first step
            # a transaction a policy: beside a server on SQLite (the demo) one transaction for the
            # whole scan held the one writer long enough for requests and other actors to give up
            done = []
            for code in self.policies or tuple(p.code for p in POLICIES):
                with db.transaction() as s:
                    done.append(offers.refresh(s, offers.AGENT, code, today))
            self.counts["withdrawn"] += sum(len(r.withdrawn) for r in done)
            self.counts["scans"] += 1
        self._new_offers(db, today, rng)
        self._answer(db, end)

    def _new_offers(self, db: Database, today: date, rng: np.random.Generator) -> None:
        """The offers made since the last step, by the scan or by a life event's consumer: checked
        against the ground truth, and answered in time by residents with an account."""
        with db.sessions() as s:
            q = select(BenefitOffer.id, BenefitOffer.person_id)
            if self._since is not None:
                q = q.where(BenefitOffer.created_at >= self._since)
            rows = [(oid, pid) for oid, pid in s.execute(q) if oid not in self._seen]
        self._since = clock.now()
        if not rows:
            return
        made = [oid for oid, _ in rows]
        self._seen.update(made)
        self.counts["offers"] += len(made)
        self._day(today)["offers"] += len(made)
        check = made
        if self._first and len(made) > self.first_run_checked:
            check = [made[int(i)] for i in rng.choice(len(made), size=self.first_run_checked, replace=False)]
        self._first = False
        self._check(db, sorted(check), today)
        for oid, person_id in rows:
            if person_id is not None and int(person_id) in self._residents:
                delay = timedelta(hours=float(rng.exponential(self.answer_hours)))
                self._answers.append((clock.now() + delay, oid, bool(rng.random() < ACCEPTED_SHARE)))

    def _check(self, db: Database, ids: list[str], on: date) -> None:
        """The simulation's ground truth: the per-record DMN decision on the registry as it stands."""
        with db.sessions() as s:
            for i in range(0, len(ids), 500):
                for o in s.scalars(select(BenefitOffer).where(BenefitOffer.id.in_(ids[i : i + 500]))):
                    p = benefits.policy_by_code(o.policy_code)
                    decision = benefits.decide(p, benefits.read_record(s, p.subject, o.subject_id, on), on)
                    self.counts["offers_checked"] += 1
                    if not decision.outputs.get("eligible"):
                        self.counts["false_offers"] += 1
                        log.warning(
                            "offer %s of %s to %s %s not granted per record", o.id, p.code, p.subject, o.subject_id
                        )

    def _answer(self, db: Database, until: datetime) -> None:
        due = [a for a in self._answers if a[0] <= until]
        if not due:
            return
        self._answers = [a for a in self._answers if a[0] > until]
        with db.sessions() as s:
            owners = dict(
                s.execute(
                    select(BenefitOffer.id, BenefitOffer.person_id).where(BenefitOffer.id.in_([d[1] for d in due]))
                ).all()
            )
        for _when, oid, take in sorted(due):
            principal = self._residents.get(int(owners.get(oid) or 0))
            if principal is None:
                continue
            try:
                with db.transaction() as s:
                    if take:
                        offers.accept(s, principal, oid)
                    else:
                        offers.decline(s, principal, oid, "暂不需要 / not needed for now")
            except DomainError as err:  # withdrawn in the meantime (a death, a move away)
                log.debug("simulated answer to offer %s refused: %s", oid, err.detail)
                self.counts["answer_refused"] += 1
                continue
            self.counts["accepted" if take else "declined"] += 1
            self._day(clock.local(clock.now()).date())["accepted" if take else "declined"] += 1

    def report(self) -> dict[str, Any]:
        c = self.counts
        out: dict[str, Any] = {
            "proactive_offers": int(c["offers"]),
            "proactive_accepted": int(c["accepted"]),
            "proactive_declined": int(c["declined"]),
            "proactive_withdrawn": int(c["withdrawn"]),
            "proactive_false_offers": int(c["false_offers"]),
            "proactive_offers_checked": int(c["offers_checked"]),
            "proactive_scans": int(c["scans"]),
        }
        if self._db is not None:
            with self._db.sessions() as s:
                out["proactive_offers_in_files"] = int(s.scalar(select(func.count()).select_from(BenefitOffer)) or 0)
                out["proactive_offers_open"] = int(
                    s.scalar(
                        select(func.count()).select_from(BenefitOffer).where(BenefitOffer.status == OfferStatus.OFFERED)
                    )
                    or 0
                )
                out["proactive_cases_approved"] = int(
                    s.scalar(
                        select(func.count())
                        .select_from(Case)
                        .where(Case.item_code.in_(list(offers.ITEMS.values())), Case.status == CaseStatus.APPROVED)
                    )
                    or 0
                )
        out["proactive_per_day"] = {d: dict(v) for d, v in sorted(self.per_day.items())}
        return out


def actors(scale: float) -> list[ProactiveActor]:
    return [ProactiveActor(scale)]
