"""Proactive benefits in simulated time: the daily scan offers, residents with an account answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from onecity.benefits.models import BenefitOffer, OfferStatus
from onecity.core import clock
from onecity.core.db import Database
from onecity.credentials import keys
from onecity.services.models import Case, CaseStatus
from onecity.sim.engine import Simulation
from onecity.synth.actors.benefits import ProactiveActor
from onecity.synth.actors.services import ServicesActor
from tests.services.conftest import SECRET


def test_a_night_of_offers_answered_and_checked_against_the_per_record_decision(db: Database) -> None:
    keys.use_secret(db, SECRET)  # an accepted offer's approval signs a credential
    residents = ServicesActor(scale=0.00001, accounts=40, scan_share=0.0)
    proactive = ProactiveActor(
        scale=0.00001, answer_hours=0.5, first_run_checked=100, policies=("old_age_allowance", "senior_flu_vaccine")
    )
    start = datetime(2026, 6, 1, 23, 30, tzinfo=clock.SHANGHAI)  # midnight falls inside: a second day's scan
    sim = Simulation(db, [residents, proactive], start=start, seed=3, deliver_events=True, progress=lambda _m: None)
    sim.run(1)
    report = sim.report()["services"]
    with db.sessions() as s:
        in_files = s.execute(select(func.count()).select_from(BenefitOffer)).scalar_one()
        accepted = list(s.scalars(select(BenefitOffer).where(BenefitOffer.status == OfferStatus.ACCEPTED)))
        statuses = [s.get_one(Case, o.case_id).status for o in accepted if o.case_id]
    assert report["proactive_scans"] == 2
    assert report["proactive_offers"] == in_files > 0
    assert report["proactive_offers_checked"] > 0 and report["proactive_false_offers"] == 0
    assert report["proactive_accepted"] == len(accepted) >= 1
    # taken up with one click: approved unattended by the pre-review with the policy's table
    assert statuses and all(st == CaseStatus.APPROVED for st in statuses)
    assert report["proactive_cases_approved"] == len(statuses)
    assert sum(d.get("offers", 0) for d in report["proactive_per_day"].values()) == report["proactive_offers"]
