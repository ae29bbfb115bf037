"""The operations actor in a short simulated run: reports flow through the loop and the report adds up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.ops.models import Case
from onecity.sim.engine import Simulation
from onecity.synth.actors.ops import OpsActor
from tests.ops.conftest import XUHUI
from tests.ops.test_loop import MONDAY_10


def test_a_simulated_day_in_xuhui(db: Database) -> None:
    actor = OpsActor(scale=0.0015, within=XUHUI)
    sim = Simulation(
        db,
        [actor],
        start=MONDAY_10 - timedelta(hours=2),
        seed=7,
        step=timedelta(minutes=10),
        deliver_events=True,
        progress=lambda _msg: None,
    )
    sim.run(30)
    r = sim.report()["operations"]
    assert r["events"] == sum(r["by_source"].values()) and r["events"] >= 20
    assert set(r["by_source"]) <= {"hotline", "inspector", "open311", "camera", "sensor", "rating"}
    assert r["by_source"]["hotline"] > r["by_source"].get("open311", 0)  # 12345 is the big door
    gt = r["ground_truth"]
    assert gt["reports_by_simulator"] == r["events"]  # no other part runs here
    assert r["duplicates_merged"] == gt["duplicates_detected"] <= r["events"]
    assert 0 < r["dispatched"] <= r["events"] - r["duplicates_merged"]
    assert 0 < r["closed"] <= r["dispatched"]
    assert r["misrouted"] <= gt["misclassified_at_intake"]
    assert 0.0 <= r["closed_on_time_rate"] <= 1.0 and r["median_hours_to_close"] > 0
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.township_code.not_like("310104%"))) == 0
        # everything went through the audited service functions, at simulated times
        first = session.scalar(select(func.min(AuditEntry.at)).where(AuditEntry.action == "ops.case.collected"))
        assert first is not None and first >= MONDAY_10 - timedelta(hours=2)
    assert clock.now() > MONDAY_10 + timedelta(days=100)  # the simulation gave the clock back
