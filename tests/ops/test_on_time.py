"""What kept cases from closing on time in a simulated day, and the policies that fix it (issue 18, item 6):
a result returned for rework gets a limit of its own, and one event seen by many sensors is one case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from onecity.core import clock
from onecity.core.bus import consumers
from onecity.core.events import publish
from onecity.ops import service, worktime
from onecity.ops.models import Case, Report, Status, StepRecord
from onecity.ops.taxonomy import Step, Urgency, taxonomy
from onecity.sensing.events import ALERT_CLEARED, ALERT_RAISED, AlertCleared, AlertRaised
from tests.ops.conftest import HUNANLU, HUNANLU_POINT, SYSTEM, TIANPING_POINT, Ops
from tests.ops.test_loop import MONDAY_10, _offset, hotline_report, photo


def test_an_urgent_result_returned_after_its_deadline_gets_the_urgent_limit_again(ops: Ops) -> None:
    limit = taxonomy().subtype("E0101").limit(Step.DISPOSE, Urgency.URGENT)
    with clock.frozen(MONDAY_10) as advance:
        case = hotline_report(ops, urgency="urgent").case
        deadline = case.dispose_due_at
        assert deadline == MONDAY_10 + timedelta(hours=limit)
        ops.run(service.accept_case, "tp.sanitation", case.id)
        advance(limit * 3600 * 0.9)
        ops.run(service.report_back, "tp.sanitation", case.id, media_id=photo(ops, "tp.sanitation"))
        # the inspector comes after the disposal deadline (within the verification's own limit) and finds it
        # not done
        assert limit * 0.2 <= taxonomy().subtype("E0101").limit(Step.VERIFY, Urgency.URGENT)
        advance(limit * 3600 * 0.2)
        returned = ops.run(service.verify_case, "tp.inspector", case.id, ok=False, note="仍有残留")
        now = clock.now()
        # not one minute from now (the old rule): the hazard gets the urgent limit again
        assert returned.step_due_at == now + timedelta(hours=limit) == returned.dispose_due_at
        assert returned.disposed_on_time is True and returned.rework_count == 1
        advance(limit * 3600 * 0.5)
        ops.run(service.report_back, "tp.sanitation", case.id, media_id=photo(ops, "tp.sanitation"))
        ops.run(service.verify_case, "tp.inspector", case.id, ok=True)
        closed = ops.run(service.close_case, "tp.operator", case.id)
    assert closed.closed_on_time is True and closed.late_steps == 0
    with ops.db.sessions() as session:
        step = session.scalar(select(StepRecord).where(StepRecord.case_id == case.id, StepRecord.action == "reworked"))
        assert step is not None and step.to_status == Status.DISPOSING


def test_a_rework_that_misses_its_own_limit_is_still_late(ops: Ops) -> None:
    limit = taxonomy().subtype("E0101").limit(Step.DISPOSE, Urgency.URGENT)
    with clock.frozen(MONDAY_10) as advance:
        case = hotline_report(ops, urgency="urgent").case
        ops.run(service.accept_case, "tp.sanitation", case.id)
        ops.run(service.report_back, "tp.sanitation", case.id, media_id=photo(ops, "tp.sanitation"))
        ops.run(service.verify_case, "tp.inspector", case.id, ok=False, note="仍有残留")
        advance(limit * 3600 * 1.5)
        late = ops.run(service.report_back, "tp.sanitation", case.id, media_id=photo(ops, "tp.sanitation"))
    assert late.disposed_on_time is False and late.late_steps == 1


def test_a_normal_rework_keeps_its_deadline_while_half_its_limit_is_left(ops: Ops) -> None:
    with clock.frozen(MONDAY_10):
        case = hotline_report(ops).case
        deadline = case.dispose_due_at
        ops.run(service.accept_case, "tp.sanitation", case.id)
        ops.run(service.report_back, "tp.sanitation", case.id, media_id=photo(ops, "tp.sanitation"))
        returned = ops.run(service.verify_case, "tp.inspector", case.id, ok=False, note="仍有残留")
    assert returned.step_due_at == deadline == returned.dispose_due_at
    limit = taxonomy().subtype("E0101").limit(Step.DISPOSE, Urgency.NORMAL)
    assert deadline is not None and deadline > worktime.due(MONDAY_10, limit * 0.5, Urgency.NORMAL)


def _alert(alert_id: str, rule: str, point: tuple[float, float], prop: str = "ponding_depth") -> AlertRaised:
    return AlertRaised(
        alert_id=alert_id,
        rule_id=f"r-{rule}",
        rule_name=rule,
        kind="threshold",
        level="orange",
        observed_property=prop,
        message=f"{prop} 0.32 ≥ 0.25 (橙色预警 / orange warning)",
        lon=point[0],
        lat=point[1],
        division_code=HUNANLU,
        thing_id=f"t-{alert_id}",
        component_id=None,
        raised_at=clock.now(),
    )


def test_one_event_seen_by_many_sensors_of_a_township_is_one_case(ops: Ops) -> None:
    with clock.frozen(MONDAY_10) as advance:
        with ops.db.transaction() as session:
            # a storm: three gauges of one township, hundreds of metres apart, all over the same rule
            for n, metres in enumerate((0, 300, 600)):
                publish(
                    session,
                    ALERT_RAISED,
                    _alert(f"al-{n}", "积水深度", _offset(HUNANLU_POINT, metres)),
                    principal=SYSTEM,
                    reason="test",
                )
            # another rule in the same township is another event
            publish(
                session, ALERT_RAISED, _alert("al-9", "噪声", HUNANLU_POINT, "noise"), principal=SYSTEM, reason="test"
            )
        consumers.deliver_pending(ops.db)
        with ops.db.sessions() as session:
            cases = list(session.scalars(select(Case).order_by(Case.subtype_code)))
            assert [(c.subtype_code, c.report_count) for c in cases] == [("E0108", 1), ("E0501", 3)]
            storm = cases[1]
            reports = list(session.scalars(select(Report).where(Report.case_id == storm.id)))
            assert sorted(r.external_id or "" for r in reports) == ["al-0", "al-1", "al-2"]
            assert sum(r.duplicate for r in reports) == 2
        # a gauge's clearing still finds the case its alert joined
        with ops.db.transaction() as session:
            publish(
                session,
                ALERT_CLEARED,
                AlertCleared(alert_id="al-2", rule_id="r-积水深度", cleared_at=clock.now()),
                principal=SYSTEM,
                reason="test",
            )
        consumers.deliver_pending(ops.db)
        with ops.db.sessions() as session:
            noted = session.scalar(
                select(StepRecord.case_id).where(StepRecord.action == "noted", StepRecord.note.contains("al-2"))
            )
            assert noted == storm.id
        # hours later, once the window has passed, the same rule opens a new case
        advance(7 * 3600)
        with ops.db.transaction() as session:
            publish(
                session,
                ALERT_RAISED,
                _alert("al-10", "积水深度", _offset(HUNANLU_POINT, 900)),
                principal=SYSTEM,
                reason="test",
            )
        consumers.deliver_pending(ops.db)
    with ops.db.sessions() as session:
        assert len(list(session.scalars(select(Case).where(Case.subtype_code == "E0501")))) == 2


def _resident_report(ops: Ops, key: str, subtype: str, point: tuple[float, float]) -> service.Intake:
    from onecity.core.identity.service import principal_for_api_key

    with ops.db.sessions() as session:
        app = principal_for_api_key(session, key)
    got: service.Intake = ops.run(
        service.intake,
        app,
        source="open311",
        subtype_code=subtype,
        lon=point[0],
        lat=point[1],
        description="路边水管爆裂，水漫路面",
    )
    return got


def test_a_residents_urgent_report_is_dispatched_at_once_and_checked_at_verification(
    ops: Ops, open311_key: str
) -> None:
    from onecity.ops.pages import step_note

    with clock.frozen(MONDAY_10) as advance:
        # a normal report still waits for the inspector's confirmation on site
        normal = _resident_report(ops, open311_key, "E0201", TIANPING_POINT).case
        assert normal.status == Status.COLLECTED and normal.unit_agency_id is None
        # an urgent one (a burst water main) does not: its register limit is a quarter of an hour
        urgent = _resident_report(ops, open311_key, "E0503", _offset(TIANPING_POINT, 300)).case
        assert urgent.urgency == Urgency.URGENT.value
        assert urgent.status == Status.DISPATCHED and urgent.dispatched_on_time is True
        limit = taxonomy().subtype("E0503").limit(Step.DISPOSE, Urgency.URGENT)
        assert urgent.dispose_due_at == MONDAY_10 + timedelta(hours=limit)
        with ops.db.sessions() as session:
            steps = list(
                session.scalars(select(StepRecord).where(StepRecord.case_id == urgent.id).order_by(StepRecord.id))
            )
        assert [s.action for s in steps] == ["collected", "registered", "dispatched"]
        assert step_note(steps[1].note, "zh").startswith("紧急类上报")
        assert "fast-tracked" in step_note(steps[1].note, "en")
        # the district's water bureau fixes it; the inspector's on-site check is the verification
        ops.run(service.accept_case, "xh.water", urgent.id)
        advance(limit * 3600 * 0.5)
        ops.run(service.report_back, "xh.water", urgent.id, media_id=photo(ops, "xh.water"))
        advance(600)
        ops.run(service.verify_case, "tp.inspector", urgent.id, ok=True, note="现场核实已修复")
        closed = ops.run(service.close_case, "tp.operator", urgent.id)
    assert closed.closed_on_time is True and closed.late_steps == 0


def test_a_city_may_keep_confirming_urgent_reports_first(
    ops: Ops, open311_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "URGENT_FAST_TRACK", False)
    with clock.frozen(MONDAY_10):
        case = _resident_report(ops, open311_key, "E0503", TIANPING_POINT).case
    assert case.status == Status.COLLECTED


def test_an_urgent_case_is_warned_at_half_its_limit_while_a_second_crew_can_still_help(ops: Ops) -> None:
    from onecity.ops.clocks import sweep

    limit = taxonomy().subtype("E0101").limit(Step.DISPOSE, Urgency.URGENT)
    with clock.frozen(MONDAY_10) as advance:
        urgent = hotline_report(ops, urgency="urgent").case
        normal = hotline_report(ops, "E0103", _offset(TIANPING_POINT, 400)).case
        assert urgent.remind_at == MONDAY_10 + timedelta(hours=limit / 2)
        # a normal case is still warned at 80 % of its working hours
        assert normal.step_due_at is not None
        assert normal.remind_at == MONDAY_10 + (normal.step_due_at - MONDAY_10) * 0.8
        ops.run(service.accept_case, "tp.sanitation", urgent.id)
        advance(limit * 3600 * 0.45)
        assert sweep(ops.db).reminded == 0
        advance(limit * 3600 * 0.1)
        assert sweep(ops.db).reminded == 1
        with ops.db.sessions() as session:
            got = session.get(Case, urgent.id)
            assert got is not None and got.warned_at == clock.now() and got.step_due_at is not None
            assert got.step_due_at - clock.now() >= timedelta(hours=limit * 0.45)
