"""The event loop through its service functions: intake, dispatch, disposal, closure, the clocks, access."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.bus import consumers
from onecity.core.errors import Conflict, InvalidInput, PermissionDenied
from onecity.core.events import OutboxMessage, publish
from onecity.core.identity.models import Agency
from onecity.ops import centre, service, worktime
from onecity.ops.clocks import sweep
from onecity.ops.consumers import alert_description
from onecity.ops.models import Case, Level, Report, Status, StepRecord, Unit
from onecity.ops.taxonomy import Step, Urgency, taxonomy
from onecity.ops.units import install_units, unit_agency_code
from onecity.sensing.events import ALERT_CLEARED, ALERT_RAISED, AlertCleared, AlertRaised
from onecity.services.events import RATING_COMPLAINT, ComplaintRated
from tests.ops.conftest import (
    HUANGPU,
    HUNANLU,
    HUNANLU_POINT,
    SYSTEM,
    TIANPING_POINT,
    TIANPINGLU,
    WAITAN_POINT,
    XUHUI,
    Ops,
    png,
)

#: A Monday, 10:00 in Shanghai: inside working hours.
MONDAY_10 = datetime(2026, 6, 1, 10, 0, tzinfo=clock.SHANGHAI)


def _offset(point: tuple[float, float], metres_east: float) -> tuple[float, float]:
    return point[0] + metres_east / 95_400.0, point[1]  # a degree of longitude is ~95.4 km at 31.2°N


def hotline_report(
    o: Ops, subtype: str = "E0101", point: tuple[float, float] = TIANPING_POINT, *, urgency: str | None = None
) -> service.Intake:
    return o.run(
        service.intake,
        "hotline",
        source="hotline",
        subtype_code=subtype,
        lon=point[0],
        lat=point[1],
        description="路口有一堆暴露垃圾",
        reporter_name="王女士",
        contact="13800001111",
        urgency=urgency,
    )


def photo(o: Ops, username: str) -> str:
    return o.run(service.store_media, username, png()).id


def test_taxonomy_covers_the_standard_classes() -> None:
    tax = taxonomy()
    assert {m.code for m in tax.majors.values()} >= {
        "E01",
        "E02",
        "E03",
        "E04",
        "E05",
        "E06",
        "C01",
        "C02",
        "C03",
        "C04",
        "C05",
        "C06",
    }
    assert tax.subtype("E0101").department == "sanitation"
    assert tax.subtype("C0103").department == "water"  # rain-water manhole cover: its owner bureau
    assert tax.subtype("E0501").default_urgency is Urgency.URGENT
    for sub in tax.subtypes.values():
        assert sub.closure and sub.closure_en and sub.department in tax.departments
        assert sub.limit(Step.DISPOSE, Urgency.URGENT) <= sub.limit(Step.DISPOSE, Urgency.NORMAL)
    with pytest.raises(InvalidInput, match="unknown case type"):
        tax.subtype("E9999")


def test_working_hours_skip_nights_and_weekends() -> None:
    friday_4pm = datetime(2026, 6, 5, 16, 0, tzinfo=clock.SHANGHAI)
    due = worktime.due(friday_4pm, 2, Urgency.NORMAL)
    assert clock.local(due) == datetime(2026, 6, 8, 10, 0, tzinfo=clock.SHANGHAI)  # Monday 10:00
    assert worktime.working_hours_between(friday_4pm, due) == pytest.approx(2.0)
    assert worktime.due(friday_4pm, 2, Urgency.URGENT) == friday_4pm + timedelta(hours=2)  # clock hours


def test_working_hours_follow_the_holiday_calendar() -> None:
    """National Day 2026 is off (1–7 October) and Saturday 10 October is a make-up working day."""
    before_holiday = datetime(2026, 9, 30, 16, 0, tzinfo=clock.SHANGHAI)
    due = worktime.due(before_holiday, 2, Urgency.NORMAL)
    assert clock.local(due) == datetime(2026, 10, 8, 10, 0, tzinfo=clock.SHANGHAI)
    assert worktime.is_working_time(datetime(2026, 10, 10, 10, 0, tzinfo=clock.SHANGHAI))
    assert not worktime.is_working_time(datetime(2026, 10, 5, 10, 0, tzinfo=clock.SHANGHAI))


def test_units_install_is_idempotent_and_per_level(ops: Ops) -> None:
    with ops.db.transaction() as session:
        again = install_units(session, SYSTEM, within=XUHUI)
        assert again.created == 0 and again.existing > 0
        townships = {
            u.division_code
            for u in session.scalars(
                select(Unit).where(Unit.department == "sanitation", Unit.division_code.startswith("310104"))
            )
        }
        assert TIANPINGLU in townships and XUHUI not in townships  # sanitation is a township unit
        water = session.scalars(select(Unit).where(Unit.department == "water", Unit.division_code == XUHUI)).all()
        assert len(water) == 1  # water affairs is a district bureau
        agency = session.scalar(select(Agency).where(Agency.code == unit_agency_code("water", XUHUI)))
        assert agency is not None and "水务局" in agency.name


def test_trusted_report_is_registered_and_dispatched_to_the_township_unit(ops: Ops) -> None:
    with clock.frozen(MONDAY_10):
        got = hotline_report(ops)
    case = got.case
    assert not got.duplicate
    assert case.status == Status.DISPATCHED
    assert (case.township_code, case.district_code) == (TIANPINGLU, XUHUI)
    assert case.division_code.startswith("310104003") and len(case.grid_code) == 15
    with ops.db.sessions() as session:
        unit = session.get(Unit, case.unit_agency_id)
        assert unit is not None and (unit.department, unit.division_code) == ("sanitation", TIANPINGLU)
        steps = [
            s.action
            for s in session.scalars(select(StepRecord).where(StepRecord.case_id == case.id).order_by(StepRecord.id))
        ]
        assert steps == ["collected", "registered", "dispatched"]
        types = set(session.scalars(select(OutboxMessage.event_type)))
        assert {"ops.case.collected", "ops.case.registered", "ops.case.dispatched"} <= types
        audited = set(session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == case.id)))
        assert {"ops.case.collected", "ops.case.registered", "ops.case.dispatched"} <= audited
    # a district bureau's subtype goes to the district unit, whatever the township
    with clock.frozen(MONDAY_10):
        water = hotline_report(ops, "E0503", HUNANLU_POINT).case
    with ops.db.sessions() as session:
        unit = session.get(Unit, water.unit_agency_id)
        assert unit is not None and (unit.department, unit.division_code) == ("water", XUHUI)
    assert water.urgency == "urgent"


def test_the_whole_loop_to_evaluation_on_time(ops: Ops, open311_key: str) -> None:
    from onecity.core.identity.service import principal_for_api_key

    with ops.db.sessions() as session:
        app = principal_for_api_key(session, open311_key)
    with clock.frozen(MONDAY_10) as advance:
        got = ops.run(
            service.intake,
            app,
            source="open311",
            subtype_code="E0201",
            lon=TIANPING_POINT[0],
            lat=TIANPING_POINT[1],
            description="电线杆上贴满小广告",
        )
        assert got.case.status == Status.COLLECTED  # a resident's report waits for an inspector
        cid = got.case.id
        advance(1800)
        ops.run(service.register_case, "tp.inspector", cid, note="现场核实属实")
        with ops.db.sessions() as session:
            case = session.get(Case, cid)
            assert case is not None and case.status == Status.DISPATCHED and case.dispatched_on_time is True
        with pytest.raises(PermissionDenied, match="another unit"):
            ops.run(service.accept_case, "tp.enforcement", cid)
        ops.run(service.accept_case, "tp.sanitation", cid)
        advance(3600)
        with pytest.raises(InvalidInput, match="photo"):
            ops.run(service.report_back, "tp.sanitation", cid, media_id="")
        media = photo(ops, "tp.sanitation")
        ops.run(service.report_back, "tp.sanitation", cid, media_id=media, note="已清除")
        advance(1800)
        ops.run(service.verify_case, "tp.inspector", cid, ok=True, note="复核通过")
        with pytest.raises(Conflict, match="verified"):
            ops.run(service.verify_case, "tp.inspector", cid, ok=True)
        ops.run(service.close_case, "tp.operator", cid)
        case = ops.run(service.evaluate_case, "tp.operator", cid, satisfaction=5)
    assert case.status == Status.EVALUATED
    assert case.closed_on_time is True and case.disposed_on_time is True and case.late_steps == 0
    assert case.score == 100.0 and case.result_media_id == media


def test_rework_dispute_and_suspension(ops: Ops) -> None:
    with clock.frozen(MONDAY_10) as advance:
        cid = hotline_report(ops).case.id
        ops.run(service.accept_case, "tp.sanitation", cid)
        ops.run(service.report_back, "tp.sanitation", cid, media_id=photo(ops, "tp.sanitation"))
        with pytest.raises(InvalidInput, match="still wrong"):
            ops.run(service.verify_case, "tp.inspector", cid, ok=False)
        case = ops.run(service.verify_case, "tp.inspector", cid, ok=False, note="仍有残留")
        assert case.status == Status.DISPOSING and case.rework_count == 1

        # a misrouted case: the unit disputes, the township cannot rule on it, the district does
        other = hotline_report(ops, "E0401", _offset(TIANPING_POINT, 400)).case.id  # street vending → enforcement
        with pytest.raises(InvalidInput):
            ops.run(service.dispute_case, "tp.enforcement", other, reason=" ")
        ops.run(service.dispute_case, "tp.enforcement", other, reason="实为暴露垃圾，应由环卫所处置")
        with pytest.raises(PermissionDenied, match="one level above"):
            ops.run(service.resolve_dispute, "tp.operator", other, department="sanitation")
        resolved = ops.run(service.resolve_dispute, "xh.operator", other, department="sanitation")
        assert resolved.status == Status.DISPATCHED
        with ops.db.sessions() as session:
            assert session.get_one(Unit, resolved.unit_agency_id).department == "sanitation"

        # suspension stops the clock: the due time moves by the time suspended
        third = hotline_report(ops, "E0303").case
        due = third.step_due_at
        assert due is not None
        ops.run(service.suspend_case, "tp.operator", third.id, reason="台风红色预警，停止户外作业")
        advance(2 * 3600)
        back = ops.run(service.resume_case, "tp.operator", third.id)
    assert back.status == Status.DISPATCHED and back.step_due_at == due + timedelta(hours=2)


def test_duplicates_join_the_open_case_and_the_reporter_is_told(ops: Ops) -> None:
    with clock.frozen(MONDAY_10) as advance:
        first = hotline_report(ops)
        advance(3600)
        near = hotline_report(ops, point=_offset(TIANPING_POINT, 30))
        far = hotline_report(ops, point=_offset(TIANPING_POINT, 80))
        other_kind = hotline_report(ops, "E0103", _offset(TIANPING_POINT, 10))
        advance(25 * 3600)
        next_day = hotline_report(ops, point=_offset(TIANPING_POINT, 20))
    assert near.duplicate and near.case.id == first.case.id and near.report.duplicate
    assert not far.duplicate and not other_kind.duplicate and not next_day.duplicate
    with ops.db.sessions() as session:
        case = session.get(Case, first.case.id)
        assert case is not None and case.report_count == 2
        assert session.scalar(select(func.count()).select_from(Report).where(Report.case_id == case.id)) == 2
        assert "merged" in set(session.scalars(select(StepRecord.action).where(StepRecord.case_id == case.id)))


def test_intake_refuses_bad_input_without_writing(ops: Ops, open311_key: str) -> None:
    bad: list[tuple[dict[str, Any], str]] = [  # values of any type: the service must refuse them
        ({"subtype_code": "E9999"}, "unknown case type"),
        ({"lon": 120.0, "lat": 30.0}, "outside Shanghai"),
        ({"description": "   "}, "description is required"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
        ({"source": "pigeon"}, "unknown source"),
        ({"urgency": "whenever"}, "urgency"),
    ]
    for override, message in bad:
        kw: dict[str, Any] = {
            "source": "hotline",
            "subtype_code": "E0101",
            "lon": TIANPING_POINT[0],
            "lat": TIANPING_POINT[1],
            "description": "垃圾",
            **override,
        }
        with pytest.raises(InvalidInput, match=message):
            ops.run(service.intake, "hotline", **kw)
    with pytest.raises(PermissionDenied, match="inspector"):
        ops.run(
            service.intake,
            "hotline",
            source="inspector",
            subtype_code="E0101",
            lon=TIANPING_POINT[0],
            lat=TIANPING_POINT[1],
            description="垃圾",
        )
    # a township inspector cannot file a report in another township
    with pytest.raises(PermissionDenied):
        ops.run(
            service.intake,
            "tp.inspector",
            source="inspector",
            subtype_code="E0101",
            lon=HUNANLU_POINT[0],
            lat=HUNANLU_POINT[1],
            description="垃圾",
        )
    with ops.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_township_sees_only_its_own_district_sees_all(ops: Ops) -> None:
    with clock.frozen(MONDAY_10):
        tp = hotline_report(ops).case.id
        hn = hotline_report(ops, point=HUNANLU_POINT).case.id
        hp = hotline_report(ops, point=WAITAN_POINT).case.id
    with ops.db.sessions() as session:
        seen = {c.id for c in service.area_cases(session, ops.p("tp.operator"))}
        assert seen == {tp}
        assert {c.id for c in service.area_cases(session, ops.p("xh.operator"))} == {tp, hn}
        assert {c.id for c in service.area_cases(session, ops.p("city.operator"))} == {tp, hn, hp}
        with pytest.raises(PermissionDenied):
            service.get_case(session, ops.p("hn.operator"), tp)
        with pytest.raises(PermissionDenied):
            centre.summary(session, ops.p("tp.operator"), HUNANLU)
        with pytest.raises(PermissionDenied):
            centre.summary(session, ops.p("xh.operator"), HUANGPU)
        assert centre.summary(session, ops.p("xh.operator"), XUHUI).totals["open"] == 2
    with pytest.raises(PermissionDenied):
        ops.run(service.suspend_case, "hn.operator", tp, reason="不是我的")
    with pytest.raises(PermissionDenied):
        ops.run(service.close_case, "hp.operator", tp)


def test_overdue_case_escalates_township_district_city(ops: Ops) -> None:
    with clock.frozen(MONDAY_10) as advance:
        case = hotline_report(ops).case  # exposed rubbish: 4 working hours to dispose
        due = case.step_due_at
        assert due is not None and clock.local(due).hour == 14
        advance(3.3 * 3600)  # past 80 % of the limit: the early warning, no escalation
        assert sweep(ops.db).reminded == 1
        assert sweep(ops.db).reminded == 0  # sent once
        advance(1 * 3600)  # 14:06: overdue → the district centre
        swept = sweep(ops.db)
        assert swept.escalated == 1
        with ops.db.sessions() as session:
            district = centre.summary(session, ops.p("xh.operator"), XUHUI)
            assert [c.id for c in district.escalated] == [case.id]
            assert [c.id for c in district.overdue] == [case.id]
            assert centre.summary(session, ops.p("city.operator"), "310000000000").escalated == []
        assert sweep(ops.db).escalated == 0  # nothing more until another limit has passed
        advance(5 * 3600)  # overdue by more than one more limit → the city
        assert sweep(ops.db).escalated == 1
        with ops.db.sessions() as session:
            got = session.get(Case, case.id)
            assert got is not None and got.level == Level.CITY and got.escalations == 2
            city = centre.summary(session, ops.p("city.operator"), "310000000000")
            assert [c.id for c in city.escalated] == [case.id]
        ops.run(service.accept_case, "tp.sanitation", case.id)
        done = ops.run(service.report_back, "tp.sanitation", case.id, media_id=photo(ops, "tp.sanitation"))
    assert done.disposed_on_time is False and done.late_steps == 1


def test_evaluation_per_unit_and_township(ops: Ops) -> None:
    with clock.frozen(MONDAY_10) as advance:
        ok = hotline_report(ops).case.id
        late = hotline_report(ops, point=_offset(TIANPING_POINT, 300)).case.id
        for cid in (ok, late):
            ops.run(service.accept_case, "tp.sanitation", cid)
        ops.run(service.report_back, "tp.sanitation", ok, media_id=photo(ops, "tp.sanitation"))
        ops.run(service.verify_case, "tp.inspector", ok, ok=True)
        ops.run(service.close_case, "tp.operator", ok)
        advance(30 * 3600)
        ops.run(service.report_back, "tp.sanitation", late, media_id=photo(ops, "tp.sanitation"))
    with ops.db.sessions() as session:
        units = centre.evaluation(session, ops.p("xh.operator"), XUHUI, by="unit")
        towns = centre.evaluation(session, ops.p("xh.operator"), XUHUI, by="township")
        depts = centre.evaluation(session, ops.p("xh.operator"), XUHUI, by="department")
    [u] = units
    assert u["department"] == "sanitation" and u["cases"] == 2
    assert u["on_time_dispatch"] == 1.0 and u["on_time_disposal"] == 0.5
    assert u["closure_rate"] == 0.5 and u["rework_rate"] == 0.0
    assert u["score"] == pytest.approx(100 * (0.2 * 1 + 0.4 * 0.5 + 0.3 * 0.5 + 0.1 * 1))
    assert [t["key"] for t in towns] == [TIANPINGLU]
    assert [(d["key"], d["name"], d["cases"]) for d in depts] == [("sanitation", "市容环境卫生所", 2)]


def test_sensor_alert_opens_a_case_and_its_clearing_is_noted(ops: Ops) -> None:
    raised = AlertRaised(
        alert_id="al-1",
        rule_id="r-1",
        rule_name="积水深度",
        kind="threshold",
        level="orange",
        observed_property="ponding_depth",
        message="ponding_depth 0.32 ≥ 0.25 (橙色预警 / orange warning)",  # as sensing stores it
        lon=HUNANLU_POINT[0],
        lat=HUNANLU_POINT[1],
        division_code=HUNANLU,
        thing_id="t-1",
        component_id=None,
        raised_at=clock.now(),
    )
    outside = raised.model_copy(update={"alert_id": "al-2", "lon": 100.0, "lat": 10.0})
    with ops.db.transaction() as session:
        publish(session, ALERT_RAISED, raised, principal=SYSTEM, reason="test")
        publish(session, ALERT_RAISED, outside, principal=SYSTEM, reason="test")
    consumers.deliver_pending(ops.db)
    consumers.deliver_pending(ops.db)  # delivering again opens nothing twice
    with ops.db.sessions() as session:
        [case] = session.scalars(select(Case)).all()
        assert (case.source, case.subtype_code, case.urgency) == ("sensor", "E0501", "urgent")
        assert case.description == "[积水深度] 积水深度 0.32 ≥ 0.25 (橙色预警)"  # no key, no English
        assert case.status == Status.DISPATCHED and case.township_code == HUNANLU
        assert session.get_one(Unit, case.unit_agency_id).department == "water"
    with ops.db.transaction() as session:
        publish(
            session,
            ALERT_CLEARED,
            AlertCleared(alert_id="al-1", rule_id="r-1", cleared_at=clock.now()),
            principal=SYSTEM,
            reason="test",
        )
    consumers.deliver_pending(ops.db)
    with ops.db.sessions() as session:
        notes = list(
            session.scalars(select(StepRecord.note).where(StepRecord.case_id == case.id, StepRecord.action == "noted"))
        )
        assert len(notes) == 1 and "al-1" in (notes[0] or "")


def test_bad_rating_becomes_a_hotline_work_order(ops: Ops) -> None:
    rating = ComplaintRated(
        rating_id="rt-9",
        case_id="svc-1",
        item_code="310104-001",
        item_name="居住证办理",
        agency_code="xh-psb",
        stars=1,
        channel="counter",
        comment="窗口排队两小时无人受理",
        division_code=TIANPINGLU,
        rated_at=clock.now(),
    )
    with ops.db.transaction() as session:
        publish(session, RATING_COMPLAINT, rating, principal=SYSTEM, reason="test")
    consumers.deliver_pending(ops.db)
    with ops.db.sessions() as session:
        [case] = session.scalars(select(Case)).all()
        assert (case.source, case.subtype_code, case.township_code) == ("rating", "E0601", TIANPINGLU)
        assert "窗口排队" in case.description and case.status == Status.DISPATCHED
        report = session.scalar(select(Report).where(Report.case_id == case.id))
        assert report is not None and report.external_id == "rt-9"


def test_reporter_details_are_an_audited_read(ops: Ops) -> None:
    with clock.frozen(MONDAY_10):
        cid = hotline_report(ops).case.id
    with pytest.raises(InvalidInput, match="purpose"):
        ops.run(service.reports_of, "xh.operator", cid, purpose=None)
    [r] = ops.run(service.reports_of, "xh.operator", cid, purpose="回访报告人")
    assert r.contact == "13800001111"
    with ops.db.sessions() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "ops.reporter.read"))
        assert entry is not None and entry.purpose == "回访报告人"


def test_a_sensor_cases_description_names_places_and_drops_the_english_half(ops: Ops) -> None:
    base: dict[str, Any] = {  # the alert's fields, checked by the model
        "alert_id": "al-9",
        "rule_id": "r-9",
        "rule_name": "设备离线",
        "kind": "silence",
        "level": "blue",
        "observed_property": None,
        "lon": HUNANLU_POINT[0],
        "lat": HUNANLU_POINT[1],
        "division_code": HUNANLU,
        "thing_id": "t-9",
        "component_id": None,
        "raised_at": clock.now(),
    }
    silent = AlertRaised(message="设备离线 / device silent: 井盖传感器 00019 (95 min; 蓝色预警 / blue warning)", **base)
    both = AlertRaised(
        **{**base, "rule_name": "暴雨叠加涨水", "level": "red"},
        message=f"rainfall + water_level @ {HUNANLU} (红色预警 / red warning)",
    )
    with ops.db.sessions() as session:
        assert alert_description(session, silent) == "[设备离线] 设备离线: 井盖传感器 00019 (95 分钟，蓝色预警)"
        assert alert_description(session, both) == "[暴雨叠加涨水] 雨量 + 水位 @ 湖南路街道 (红色预警)"


def test_the_early_warning_leaves_a_fifth_of_the_working_hours(ops: Ops) -> None:
    """80 % of a normal step is 80 % of its working hours: a step from Friday 16:00 due Monday used to be
    warned on Sunday night, 80 % of its wall-clock span, with twenty working minutes left (a month's
    late ratings cases); an urgent step is warned at half its clock hours."""
    friday_4pm = datetime(2026, 6, 5, 16, 0, tzinfo=clock.SHANGHAI)
    due = worktime.due(friday_4pm, 2, Urgency.NORMAL)  # Monday 10:00
    warn = worktime.share_of(friday_4pm, due, 0.8, Urgency.NORMAL)
    assert clock.local(warn) == datetime(2026, 6, 8, 9, 36, tzinfo=clock.SHANGHAI)
    assert worktime.working_hours_between(warn, due) == pytest.approx(0.4)
    assert worktime.share_of(friday_4pm, friday_4pm + timedelta(hours=1), 0.5, Urgency.URGENT) == (
        friday_4pm + timedelta(minutes=30)
    )
    with clock.frozen(friday_4pm):
        case = hotline_report(ops).case
    assert case.step_due_at is not None and case.remind_at is not None
    left = worktime.working_hours_between(case.remind_at, case.step_due_at)
    total = worktime.working_hours_between(friday_4pm, case.step_due_at)
    assert left == pytest.approx(0.2 * total, abs=1 / 60)
