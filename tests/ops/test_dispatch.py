"""Capacity-aware dispatch, the early warning before a step's deadline, and re-dispatch (issue 18, item 6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.errors import PermissionDenied
from onecity.ops import centre, service, units
from onecity.ops.clocks import sweep
from onecity.ops.models import Case, Shift, Status, StepRecord, Unit
from onecity.ops.pages import step_note
from onecity.ops.units import unit_agency_code
from tests.ops.conftest import TIANPINGLU, XUHUI, Ops
from tests.ops.test_loop import MONDAY_10, hotline_report, photo

#: Monday 02:00 in Shanghai: no working hours, only units on a round-the-clock shift are out.
MONDAY_02 = datetime(2026, 6, 1, 2, 0, tzinfo=clock.SHANGHAI)


def _unit(ops: Ops, department: str, division: str) -> Unit:
    with ops.db.sessions() as session:
        unit = session.scalar(select(Unit).where(Unit.department == department, Unit.division_code == division))
        assert unit is not None
        return unit


def _declare(ops: Ops, department: str, division: str, crews: int | None, shift: Shift | None = None) -> Unit:
    unit = _unit(ops, department, division)
    return ops.run(units.set_capacity, "xh.operator", unit.agency_id, crews=crews, shift=shift.value if shift else None)


def _steps(ops: Ops, case_id: str) -> list[StepRecord]:
    with ops.db.sessions() as session:
        return list(session.scalars(select(StepRecord).where(StepRecord.case_id == case_id).order_by(StepRecord.id)))


def test_a_unit_at_capacity_is_passed_over_for_a_neighbour_with_room(ops: Ops) -> None:
    home = _declare(ops, "sanitation", TIANPINGLU, crews=1)
    with clock.frozen(MONDAY_10):
        first = hotline_report(ops).case
        # another problem at the same place for the same department, but the home unit's one crew is taken
        second = hotline_report(ops, "E0103").case
    assert first.unit_agency_id == home.agency_id
    assert second.status == Status.DISPATCHED and second.unit_agency_id != home.agency_id
    with ops.db.sessions() as session:
        helper = session.get(Unit, second.unit_agency_id)
        assert helper is not None and helper.department == "sanitation"
        assert helper.division_code.startswith("310104") and helper.division_code != TIANPINGLU  # a Xuhui neighbour
    note = _steps(ops, second.id)[-1].note
    assert "邻近单位支援" in step_note(note, "zh") and "neighbouring unit helps" in step_note(note, "en")
    # with room again (the first case reported back), the place's own unit is chosen
    with clock.frozen(MONDAY_10 + timedelta(minutes=30)):
        ops.run(service.accept_case, "tp.sanitation", first.id)
        ops.run(service.report_back, "tp.sanitation", first.id, media_id=photo(ops, "tp.sanitation"))
        third = hotline_report(ops, "E0201").case
    assert third.unit_agency_id == home.agency_id


def test_an_off_shift_unit_is_not_chosen_for_an_urgent_case_when_an_on_shift_one_can(ops: Ops) -> None:
    home = _declare(ops, "sanitation", TIANPINGLU, crews=5, shift=Shift.OFFICE)
    assert not units.on_shift(home, MONDAY_02) and units.on_shift(home, MONDAY_10)
    with clock.frozen(MONDAY_02):
        urgent = hotline_report(ops, urgency="urgent").case
        # a normal case's limit counts working hours only: the office unit takes it in the morning
        normal = hotline_report(ops, "E0103").case
    assert urgent.unit_agency_id != home.agency_id
    with ops.db.sessions() as session:
        helper = session.get(Unit, urgent.unit_agency_id)
        assert helper is not None and helper.department == "sanitation" and units.on_shift(helper, MONDAY_02)
    assert normal.unit_agency_id == home.agency_id
    # in office hours the home unit takes urgent cases again
    with clock.frozen(MONDAY_10):
        day = hotline_report(ops, "E0201", urgency="urgent").case
    assert day.unit_agency_id == home.agency_id


def test_the_early_warning_fires_before_the_deadline_and_once(ops: Ops) -> None:
    with clock.frozen(MONDAY_10) as advance:
        case = hotline_report(ops).case  # exposed rubbish: 4 working hours, due 14:00
        due = case.step_due_at
        assert due is not None
        advance(3.0 * 3600)  # 75 %: not yet
        assert sweep(ops.db).reminded == 0
        advance(0.3 * 3600)  # 82.5 %: the warning
        assert sweep(ops.db).reminded == 1
        assert sweep(ops.db).reminded == 0  # once
        with ops.db.sessions() as session:
            got = session.get(Case, case.id)
            assert got is not None and got.warned_at is not None and got.warned_at < due
            page = centre.open_cases(session, ops.p("tp.operator"), TIANPINGLU)
            assert [c.warned_at is not None for c in page.cases if c.id == case.id] == [True]
            warned = session.scalar(
                select(AuditEntry).where(AuditEntry.object_id == case.id, AuditEntry.action == "ops.case.reminded")
            )
            assert warned is not None
        warnings = [s for s in _steps(ops, case.id) if s.action == "reminded"]
        assert len(warnings) == 1 and warnings[0].at < due
        assert "时限将至" in step_note(warnings[0].note, "zh")
        # the next step starts without the flag
        ops.run(service.accept_case, "tp.sanitation", case.id)
        done = ops.run(service.report_back, "tp.sanitation", case.id, media_id=photo(ops, "tp.sanitation"))
    assert done.warned_at is None and done.step == "verify" and done.disposed_on_time is True


def test_redispatch_moves_a_waiting_case_and_keeps_its_deadline(ops: Ops) -> None:
    with clock.frozen(MONDAY_10) as advance:
        busy = hotline_report(ops).case
        waiting = hotline_report(ops, "E0103").case
        home = _declare(ops, "sanitation", TIANPINGLU, crews=1)  # the unit says it has one crew
        assert waiting.unit_agency_id == home.agency_id
        ops.run(service.accept_case, "tp.sanitation", busy.id)  # … and it is out on the first case
        due = waiting.step_due_at
        assert due is not None and waiting.dispose_due_at == due
        advance(0.5 * 3600)  # an eighth of the 4 hours: a crew may still free up
        assert sweep(ops.db).redispatched == 0
        advance(0.6 * 3600)  # past a quarter, still not taken on, no free crew: moved
        assert sweep(ops.db).redispatched == 1
        assert sweep(ops.db).redispatched == 0  # nothing left to move
        with ops.db.sessions() as session:
            moved = session.get(Case, waiting.id)
            assert moved is not None and moved.status == Status.DISPATCHED
            assert moved.unit_agency_id != home.agency_id and moved.redispatches == 1
            # the clock is honest: same step, same start, same deadline
            assert (moved.step, moved.step_due_at, moved.dispose_due_at) == ("dispose", due, due)
            assert moved.step_started_at == waiting.step_started_at
            entry = session.scalar(
                select(AuditEntry).where(
                    AuditEntry.object_id == waiting.id, AuditEntry.action == "ops.case.redispatched"
                )
            )
            assert entry is not None and entry.detail is not None
            assert entry.detail["from_unit"] == home.agency_id and entry.detail["to_unit"] == moved.unit_agency_id
            helper_code = session.scalar(select(Unit.division_code).where(Unit.agency_id == moved.unit_agency_id))
        step = _steps(ops, waiting.id)[-1]
        assert step.action == "redispatched" and step.unit_agency_id == moved.unit_agency_id
        assert "时限不变" in step_note(step.note, "zh") and "same time limit" in step_note(step.note, "en")
        # the old unit can no longer act on it; the new unit's staff can, and lateness still counts
        with pytest.raises(PermissionDenied):
            ops.run(service.accept_case, "tp.sanitation", waiting.id)
        assert helper_code is not None
        helper = replace(ops.p("tp.sanitation"), agency_id=moved.unit_agency_id, division_code=helper_code)
        ops.run(service.accept_case, helper, waiting.id)
        advance(4 * 3600)  # past 14:00
        late = ops.run(service.report_back, helper, waiting.id, media_id=photo(ops, "tp.sanitation"))
    assert late.disposed_on_time is False and late.late_steps == 1


def test_only_the_units_own_area_declares_its_capacity(ops: Ops) -> None:
    water = _unit(ops, "water", XUHUI)
    with pytest.raises(PermissionDenied):
        ops.run(units.set_capacity, "tp.operator", water.agency_id, crews=3)  # a township, not the district
    with pytest.raises(PermissionDenied):
        ops.run(units.set_capacity, "hp.operator", water.agency_id, crews=3)  # another district
    got = ops.run(units.set_capacity, "xh.operator", water.agency_id, crews=3, shift="day")
    assert (got.crews, got.shift) == (3, "day")
    assert unit_agency_code("water", XUHUI).startswith("ops-310104")
