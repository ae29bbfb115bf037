"""Each field's problem said beside it, in the reader's language: too long is refused with the limit, never cut."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from onecity.core.errors import InvalidInput
from onecity.services import fields, service
from tests.conftest import PASSWORD
from tests.services.conftest import FOOD, City, food_case_ready
from tests.web_support import csrf, sign_in

LONG = "上海市徐汇区漕溪北路" * 560  # 5,600 characters


def test_a_field_too_long_is_refused_with_its_limit_not_cut() -> None:
    assert fields.parse("premises_address", "  漕溪北路 88 号 ") == ("漕溪北路 88 号", None)
    value, wrong = fields.parse("premises_address", LONG[:201])
    assert wrong is not None and wrong.key == "services.field.too_long" and wrong.values["limit"] == "200"
    assert fields.parse("seats", "thirty")[1] is not None
    assert fields.parse("seats", "6000")[1] is not None  # above the catalogue's maximum
    assert fields.parse("phone", "12345")[1] is not None
    assert fields.parse("floor_area_m2", "80.5") == (80.5, None)
    with pytest.raises(InvalidInput) as caught:
        fields.check({"premises_address": LONG, "seats": 12})
    assert set(caught.value.extra["fields"]) == {"premises_address"}


def test_the_service_refuses_a_long_address_and_keeps_the_one_it_had(city: City) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s, pytest.raises(InvalidInput) as caught:
        service.update_form(s, city.resident, case_id, {"premises_address": LONG})
    assert caught.value.extra["fields"]["premises_address"].values["length"] == str(len(LONG))
    with city.db.transaction() as s:
        assert len(service.get_case(s, city.resident, case_id).form["premises_address"]) <= 200


def test_the_page_says_each_problem_beside_its_field_in_the_readers_language(city: City, client: TestClient) -> None:
    case_id = food_case_ready(city)
    sign_in(client, "resident", PASSWORD, next_path="/services")
    url = f"/services/cases/{case_id}"
    for lang, too_long, whole in (
        ("zh", "最多 200 个字", "请填写整数"),
        ("en", "At most 200 characters", "whole number"),
    ):
        client.get(f"/lang/{lang}")
        r = client.post(
            url + "/form",
            data={
                "f.premises_address": LONG,
                "f.seats": "thirty",
                "f.floor_area_m2": "90",
                "csrf_token": csrf(client.get(url)),
            },
        )
        assert r.status_code == 422
        page = html.unescape(r.text)
        address = page.split('data-field-error="premises_address"')[1].split("</p>")[0]
        assert too_long in address and "5600" in address
        assert whole in page.split('data-field-error="seats"')[1].split("</p>")[0]
        assert 'aria-describedby="err-premises_address"' in page
        assert LONG in page  # what was typed is shown again, not lost
    with city.db.transaction() as s:
        form = service.get_case(s, city.resident, case_id).form
    assert form["floor_area_m2"] == 80 and len(form["premises_address"]) <= 200  # nothing of the refused save kept


def test_submitting_an_incomplete_form_marks_each_field(city: City, client: TestClient) -> None:
    with city.db.transaction() as s:
        case_id = service.start_case(s, city.resident, FOOD, uscc=city.firm.uscc).id
    sign_in(client, "resident", PASSWORD, next_path="/services")
    url = f"/services/cases/{case_id}"
    r = client.post(url + "/submit", data={"csrf_token": csrf(client.get(url))})
    assert r.status_code == 422 and "一次性告知" in r.text
    assert "此项必填" in r.text.split('data-field-error="business_items"')[1].split("</p>")[0]
    assert "is a required property" not in r.text


def test_the_api_answers_each_field_in_english(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    case_id = food_case_ready(city)
    r = client.patch(
        f"/api/v1/services/cases/{case_id}/form",
        headers=login("resident"),
        json={"values": {"premises_address": LONG}},
    )
    assert r.status_code == 422, r.text
    assert "At most 200 characters" in r.json()["fields"]["premises_address"]
