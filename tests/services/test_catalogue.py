"""The catalogue as data, the BPMN shapes and the working-day calendar (no database)."""

from __future__ import annotations

from datetime import date

import pytest
from jsonschema import Draft202012Validator

from onecity.core import workdays
from onecity.hub.registries.certtypes import SPECS
from onecity.services import catalogue, workflow


def test_catalogue_has_thirty_items_from_eight_departments_with_valid_forms() -> None:
    items = catalogue.items()
    assert len(items) >= 30 and len({i.department for i in items}) >= 8
    prefill_sources = {"person", "firm", "cert", "insurance", "fund", "household", "e_bike", "child", "premises"}
    for it in items:
        Draft202012Validator.check_schema(it.form_schema())
        assert it.workflow in workflow.SHAPES and it.legal_basis and it.time_limit_days >= 0
        assert it.level in {"municipal", "district", "township"}
        assert it.code.startswith("310000-") and len(it.code) == 19
        for m in it.material_specs():
            if m.stands_in and m.stands_in.startswith("cert:"):
                assert m.stands_in[5:] in SPECS, m  # a real certificate type of the hub
        if it.certificate_type:
            assert it.certificate_type in SPECS
        for name, spec in it.form_schema()["properties"].items():
            if "x-prefill" in spec:
                # a proactive item's policy and amount come from the offer being taken up
                sources = prefill_sources | ({"offer"} if it.proactive else set())
                assert spec["x-prefill"].split(".")[0] in sources, name
    assert any(it.workflow == "joint_review" and it.partner_department for it in items)


def test_bundles_merge_forms_and_materials() -> None:
    restaurant = catalogue.bundle("open-restaurant")
    burden = restaurant.burden()
    assert len({i.department for i in restaurant.member_items()}) >= 5
    assert burden["bundle"]["materials"] < burden["one_by_one"]["materials"]
    assert burden["bundle"]["working_days"] == max(i.time_limit_days for i in restaurant.member_items())
    assert len(restaurant.fields()) == len(set(restaurant.fields()))
    assert catalogue.bundle("have-a-baby").applicant_kind == "person"


def test_search_in_both_languages() -> None:
    assert [i.code for i in catalogue.search("residence permit")] == ["310000-20-00061-001"]
    assert "310000-07-00071-001" in [i.code for i in catalogue.search("结婚")]
    assert all(i.department == "sh-psb" for i in catalogue.search(department_code="sh-psb"))


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 9, 30), 1, date(2026, 10, 8)),  # National Day: 1–7 October off
        (date(2026, 10, 9), 1, date(2026, 10, 10)),  # Saturday 10 October is a make-up working day
        (date(2026, 2, 13), 1, date(2026, 2, 14)),  # Saturday 14 Feb works before the Spring Festival
        (date(2026, 2, 14), 1, date(2026, 2, 24)),  # nine days off, 15–23 Feb
        (date(2025, 1, 1), 0, date(2025, 1, 2)),  # a holiday: the clock starts on the next working day
        (date(2026, 11, 27), 10, date(2026, 12, 11)),
        (date(2026, 11, 29), 10, date(2026, 12, 11)),  # accepted on the Sunday after: due the same day
        (date(2026, 11, 29), 0, date(2026, 11, 30)),
    ],
)
def test_working_days_know_holidays_and_make_up_days(start: date, days: int, due: date) -> None:
    assert workdays.add_working_days(start, days) == due


def test_working_day_counts() -> None:
    assert workdays.is_working_day(date(2026, 9, 20))  # a Sunday made a working day
    assert not workdays.is_working_day(date(2026, 10, 5))
    assert workdays.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert workdays.known_year(2026) and not workdays.known_year(2030)


def test_parallel_workflow_runs_and_resumes_from_json() -> None:
    wf = workflow.start("joint_review")
    [accept] = workflow.ready_tasks(wf)
    workflow.complete(wf, accept, {"acceptance": "accept"})
    restored = workflow.load(workflow.dump(wf))
    names = sorted(t.task_spec.name for t in workflow.ready_tasks(restored))
    assert names == ["review", "review_partner"]
    lanes = {t.task_spec.name: workflow.lane_of(t) for t in workflow.ready_tasks(restored)}
    assert lanes == {"review": "lead", "review_partner": "partner"}
    for t in workflow.ready_tasks(restored):
        workflow.complete(restored, t, {})
    [decide] = workflow.ready_tasks(restored)
    assert decide.task_spec.name == "decide" and workflow.role_for("decide") == "approver"
    workflow.complete(restored, decide, {"decision": "refuse"})
    assert workflow.finished(restored)
