"""The services actor in simulated office hours: applications on every channel, officers deciding, the report."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np
from sqlalchemy import func, select

from onecity.core import clock
from onecity.core.db import Database
from onecity.credentials import keys
from onecity.hub.registries.models import Person, PersonStatus
from onecity.services import catalogue, service
from onecity.services.models import Case, CaseEvent, WorkItem
from onecity.sim.engine import Simulation
from onecity.synth.actors.services import ServicesActor
from tests.services.conftest import SECRET, City, food_case_ready


def test_a_morning_of_applications_fills_the_report(db: Database) -> None:
    keys.use_secret(db, SECRET)  # approvals (by officers or unattended) sign credentials
    actor = ServicesActor(scale=0.0001, accounts=10)
    start = datetime(2026, 6, 1, 9, 0, tzinfo=clock.SHANGHAI)  # a Monday morning
    sim = Simulation(db, [actor], start=start, seed=7, deliver_events=True, progress=lambda _m: None)
    sim.run(2)
    report = sim.report()["services"]
    assert report["applications"] >= 3 and report["online"] + report["counter"] + report["proxy"] == report[
        "cases_in_files"
    ] - sum(b.get("applications", 0) for b in report["bundles"].values())
    assert report["approved"] + report["refused"] == report["decided"] > 0
    assert 0 < report["prefilled_field_share"] <= 1 and report["first_time_pass_rate"] is not None
    assert report["within_time_limit_rate"] == 1.0
    assert set(report["bundles"]) == {b.code for b in catalogue.bundles()}
    # every submitted case was pre-reviewed; nothing forged or ineligible went through unattended
    assert report["prereviewed"] == report["cases_in_files"] and report["prereviewed_share"] == 1.0
    assert report["false_auto_approvals"] == 0 and report["auto_approved"] >= 0
    assert sum(report["prereview_outcomes"].values()) >= report["prereviewed"]
    with db.sessions() as s:
        channels = set(s.scalars(select(Case.channel)))
        history = s.scalar(select(func.count()).select_from(CaseEvent))
    assert "counter" in channels and "online" in channels and history


def test_simulated_officers_leave_peoples_cases_to_the_people(sqlite_city: City) -> None:
    """In the demo the simulated officers work only the simulation's own cases: the resident's
    application waits for the demo's clerk, reviewer and approver, while simulated ones move on."""
    city = sqlite_city
    keys.use_secret(city.db, SECRET)
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    actor = ServicesActor(scale=0.0001, accounts=10, leave_to_people=True, scan_share=0.0)  # no OCR: seconds
    start = datetime(2026, 6, 1, 9, 0, tzinfo=clock.SHANGHAI)  # a Monday morning: officers at work
    sim = Simulation(city.db, [actor], start=start, seed=7, deliver_events=True, progress=lambda _m: None)
    sim.run(1)
    with city.db.sessions() as s:
        officers_acted = s.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.actor.like("user:sim-%"), CaseEvent.case_id != case_id)
        )
        mine = s.get(Case, case_id)
        assert mine is not None and mine.accepted_at is None  # nobody simulated took it
        open_items = list(s.scalars(select(WorkItem).where(WorkItem.case_id == case_id, WorkItem.status == "open")))
    assert [w.role for w in open_items] == ["counter_clerk"]
    assert officers_acted  # while the simulation's own cases moved on


def test_the_simulated_applicants_come_from_the_whole_city(db: Database) -> None:
    """Registry ids run district by district: the applicants are a city-wide sample, not the
    first residents or firms by id (the central districts', so one district's offices took
    44 % of a simulated month's applications and its counters fell behind)."""
    actor = ServicesActor(scale=0.0001, accounts=120, residents_sampled=400, firms_sampled=10_000, scan_share=0.0)
    actor._setup(db, np.random.default_rng(1))
    with db.sessions() as s:
        population = Counter(
            code[:6] for code in s.scalars(select(Person.division_code).where(Person.status == PersonStatus.ALIVE))
        )
        pids = [pid for _p, pid in actor._accounts]
        homes = Counter(code[:6] for code in s.scalars(select(Person.division_code).where(Person.id.in_(pids))))
    total = sum(population.values())
    assert len(pids) >= 120 and sum(homes.values()) == len(pids)
    assert len(homes) >= len(population) - 2  # (almost) every district has applicants
    for district, people in population.items():  # each in proportion to its people, give or take
        assert abs(homes[district] / len(pids) - people / total) < 0.08, district
