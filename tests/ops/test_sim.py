"""The operations actor in a short simulated run: reports flow through the loop and the report adds up."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.ops import service, worktime
from onecity.ops.models import Case, Status, Unit
from onecity.ops.taxonomy import Urgency
from onecity.sim.breakdown import breakdown
from onecity.sim.engine import Simulation
from onecity.synth.actors.ops import OpsActor
from tests.ops.conftest import TIANPING_POINT, XUHUI, Ops
from tests.ops.test_loop import MONDAY_10, hotline_report, photo


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


def _disposing(due: datetime, *, warned: bool) -> Case:
    return Case(
        id="c1",
        urgency="urgent",
        status=Status.DISPOSING,
        unit_agency_id="u1",
        step_due_at=due,
        warned_at=due - timedelta(minutes=30) if warned else None,
    )


def test_a_simulated_unit_sends_a_second_crew_when_warned_and_behind() -> None:
    actor = OpsActor(scale=0.001)
    actor._units = {"u1": Unit(agency_id="u1", department="traffic", division_code=XUHUI, level="district", crews=2)}
    now = MONDAY_10
    due = now + timedelta(minutes=30)
    # not warned yet: the crew works on
    actor.work_left = {"c1": 1.0}
    actor._reinforce(_disposing(due, warned=False), now, {"u1": 1})
    assert actor.work_left["c1"] == 1.0 and not actor.reinforced
    # warned but both crews busy: nobody to send
    actor._reinforce(_disposing(due, warned=True), now, {"u1": 2})
    assert actor.work_left["c1"] == 1.0 and not actor.reinforced
    # warned, an hour of work left for half an hour, a crew free: it goes, and stays on the case
    busy = {"u1": 1}
    actor._reinforce(_disposing(due, warned=True), now, busy)
    assert actor.work_left["c1"] == 0.5 and actor.reinforced == {"c1": "u1"} and busy == {"u1": 2}
    assert actor.counts["reinforced"] == 1
    # once per case
    actor._reinforce(_disposing(due, warned=True), now, {"u1": 0})
    assert actor.work_left["c1"] == 0.5 and actor.counts["reinforced"] == 1
    # a crew that will finish in time is left alone
    actor.work_left["c2"] = 0.25
    on_track = _disposing(due, warned=True)
    on_track.id = "c2"
    actor._reinforce(on_track, now, {"u1": 0})
    assert actor.work_left["c2"] == 0.25 and "c2" not in actor.reinforced


def test_simulated_people_count_their_delay_from_the_platforms_notice() -> None:
    tick = timedelta(minutes=10)
    now = MONDAY_10
    # sent after the actor's last turn (a traffic incident opened later in the previous tick): from then
    assert OpsActor._told(now - tick, now, tick) == now - tick
    # older news (an inspector off duty or busy until now): from first sight, as before
    assert OpsActor._told(now - 2 * tick, now, tick) is None
    assert OpsActor._told(None, now, tick) is None


def test_a_rejected_report_counts_as_closed_in_neither_figure(ops: Ops, open311_key: str) -> None:
    """A resident's report the inspector finds nothing for is rejected (不予立案) with a ``closed_at`` and no
    ``closed_on_time``: the per-day figures once counted it as a case closed late while the operations section
    left it out (a month's report: 1.0 over 477 cases, but 22 of 23 on a day). Both now count one way."""
    from onecity.core.identity.service import principal_for_api_key

    with ops.db.sessions() as session:
        app = principal_for_api_key(session, open311_key)
    with clock.frozen(MONDAY_10) as advance:
        done = hotline_report(ops).case.id
        ops.run(service.accept_case, "tp.sanitation", done)
        advance(1800)
        ops.run(service.report_back, "tp.sanitation", done, media_id=photo(ops, "tp.sanitation"))
        ops.run(service.verify_case, "tp.inspector", done, ok=True)
        ops.run(service.close_case, "tp.operator", done)
        nothing = ops.run(
            service.intake,
            app,
            source="open311",
            subtype_code="E0201",
            lon=TIANPING_POINT[0],
            lat=TIANPING_POINT[1],
            description="电线杆上贴满小广告",
        ).case.id
        advance(1800)
        ops.run(service.reject_case, "tp.inspector", nothing, reason="现场未发现问题")
        end = clock.now()
    actor = OpsActor(scale=0.001)
    actor._db, actor._started = ops.db, MONDAY_10
    section = actor.report()
    assert (section["closed"], section["closed_on_time_rate"], section["rejected"]) == (1, 1.0, 1)
    day = breakdown(ops.db, MONDAY_10, end)["per_day"][MONDAY_10.date().isoformat()]
    assert (day["ops_closed"], day["ops_closed_on_time_rate"]) == (1, 1.0)


def _case(case_id: str, *, urgency: str = "normal", status: Status = Status.DISPOSING, **kw: object) -> Case:
    return Case(id=case_id, urgency=urgency, status=status, unit_agency_id="u1", **kw)


def test_a_step_near_its_limit_is_done_first() -> None:
    """An inspector's check, a unit's pick-up and the centre's close wait for nobody once the warning is out
    or the limit is two turns away (a month's verifications once sat hours past their limit)."""
    tick = timedelta(minutes=10)
    now = MONDAY_10
    assert not OpsActor._pressing(_case("a", step_due_at=now + timedelta(hours=3)), now, tick)
    assert OpsActor._pressing(_case("b", step_due_at=now + timedelta(hours=3), warned_at=now), now, tick)
    assert OpsActor._pressing(_case("c", step_due_at=now + timedelta(minutes=15)), now, tick)
    assert not OpsActor._pressing(_case("d"), now, tick)


def test_a_warned_normal_case_behind_is_worked_overtime() -> None:
    """A unit answers the warning on a normal case too: with no free crew it works on outside working hours."""
    actor = OpsActor(scale=0.001)
    actor._units = {"u1": Unit(agency_id="u1", department="township_office", division_code=XUHUI, crews=2)}
    friday_5pm = datetime(2026, 6, 5, 17, 0, tzinfo=clock.SHANGHAI)
    due = worktime.due(friday_5pm, 2, Urgency.NORMAL)  # Monday 11:00
    actor.work_left = {"n1": 3.0}
    case = _case("n1", step_due_at=due, warned_at=friday_5pm)
    assert actor._reinforce(case, friday_5pm, {"u1": 2}) is True  # behind, both crews busy: overtime
    assert "n1" in actor.overtime and actor.work_left["n1"] == 3.0
    assert actor._reinforce(case, friday_5pm + timedelta(hours=1), {"u1": 2}) is True  # until it is done
    on_track = _case("n2", step_due_at=due, warned_at=friday_5pm)
    actor.work_left["n2"] = 1.0
    assert actor._reinforce(on_track, friday_5pm, {"u1": 2}) is False and "n2" not in actor.overtime


def test_an_urgent_case_takes_a_crew_off_a_normal_job() -> None:
    """An urgent case does not wait behind a unit's normal work (a road collapse queued two days behind
    road repairs): the normal job with the most time left gives up its crew until the urgent one is done."""
    actor = OpsActor(scale=0.001)
    actor._units = {"u1": Unit(agency_id="u1", department="construction", division_code=XUHUI, crews=2)}
    now = MONDAY_10
    soon = _case("n-soon", step_due_at=now + timedelta(days=1))
    later = _case("n-later", step_due_at=now + timedelta(days=3))
    urgent_job = _case("u-job", urgency="urgent", step_due_at=now + timedelta(hours=1))
    assert actor._divert("u1", "u-new", [soon, later, urgent_job]) == "n-later"
    assert actor.diverted == {"n-later": "u-new"}
    # every crew on urgent work (or already taken off): nothing to take
    assert actor._divert("u1", "u-other", [later, urgent_job]) is None
    # a warned urgent case behind with both crews busy gets a second crew the same way
    actor.work_left = {"u-job": 1.5}
    urgent_job.warned_at = now
    assert actor._reinforce(urgent_job, now, {"u1": 2}, [soon, later, urgent_job]) is False
    assert actor.reinforced == {"u-job": "u1"} and actor.work_left["u-job"] == 0.75
    assert actor.diverted == {"n-later": "u-new", "n-soon": "u-job"}


def test_an_urgent_case_behind_borrows_a_crew_from_a_unit_nearby() -> None:
    """Both of a district's traffic crews on incidents and one of them running past its hour: a crew comes
    from the department's unit nearby (支援), same district first, and stays busy until the case is done."""
    actor = OpsActor(scale=0.001)
    actor._units = {
        "u1": Unit(agency_id="u1", department="traffic", division_code="310101000000", crews=2),
        "far": Unit(agency_id="far", department="traffic", division_code="310115000000", crews=2),
        "near": Unit(agency_id="near", department="traffic", division_code="310101002000", crews=2),
        "other": Unit(agency_id="other", department="water", division_code="310101000000", crews=2),
    }
    now = MONDAY_10
    incident = _case("i1", urgency="urgent", step_due_at=now + timedelta(minutes=30), warned_at=now)
    actor.work_left = {"i1": 1.0}
    busy = {"u1": 2, "near": 0}
    assert actor._reinforce(incident, now, busy, [incident]) is False
    assert actor.reinforced == {"i1": "near"} and busy == {"u1": 2, "near": 1} and actor.work_left["i1"] == 0.5
    # every unit of the department busy: nobody to lend
    actor2 = OpsActor(scale=0.001)
    actor2._units = actor._units
    actor2.work_left = {"i1": 1.0}
    actor2._reinforce(incident, now, {"u1": 2, "near": 2, "far": 2}, [incident])
    assert not actor2.reinforced and actor2.work_left["i1"] == 1.0


def test_a_normal_case_behind_takes_a_crew_off_a_job_due_later() -> None:
    """A warned normal case whose unit has no free crew gets one from a normal job due after it, never from
    one due sooner."""
    actor = OpsActor(scale=0.001)
    actor._units = {"u1": Unit(agency_id="u1", department="enforcement", division_code=XUHUI, crews=2)}
    now = MONDAY_10
    behind = _case("b1", step_due_at=now + timedelta(hours=1), warned_at=now)
    sooner = _case("s1", step_due_at=now + timedelta(minutes=50))
    actor.work_left = {"b1": 3.0}
    assert actor._reinforce(behind, now, {"u1": 2}, [behind, sooner]) is True  # nothing to take: overtime
    assert not actor.reinforced and not actor.diverted
    later = _case("l1", step_due_at=now + timedelta(days=2))
    actor._reinforce(behind, now, {"u1": 2}, [behind, sooner, later])
    assert actor.diverted == {"l1": "b1"} and actor.reinforced == {"b1": "u1"} and actor.work_left["b1"] == 1.5
