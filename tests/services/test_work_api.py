"""The officers' API: the queue's filters are the page's, and a decision names the case version it rests on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from onecity.services import catalogue, service
from onecity.services.models import Case
from tests.services.conftest import FOOD, City, food_case_ready


def _queue(client: TestClient, h: dict[str, str], **params: str | int) -> list[dict[str, Any]]:
    r = client.get("/api/v1/services/work", headers=h, params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()
    return items


def test_the_queue_filters_through_the_api_as_on_the_page(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        number = service.submit(s, city.resident, case_id).number
    h = login("clerk")
    everything = _queue(client, h)
    assert [w["case"]["number"] for w in everything] == [number]
    assert [w["case"]["id"] for w in _queue(client, h, q=number[-6:])] == [case_id]
    assert [w["case"]["id"] for w in _queue(client, h, q=city.firm.name[:4])] == [case_id]
    assert _queue(client, h, q="no such applicant") == []
    assert len(_queue(client, h, item=FOOD)) == 1
    other = next(code for code in (i.code for i in catalogue.items()) if code != FOOD)
    assert _queue(client, h, item=other) == []
    assert len(_queue(client, h, status="submitted")) == 1 and _queue(client, h, status="in_review") == []
    assert _queue(client, h, overdue="true") == []
    assert len(_queue(client, h, assigned="unassigned")) == 1 and _queue(client, h, assigned="me") == []
    assert _queue(client, h, offset=1) == []
    bad = client.get("/api/v1/services/work", headers=h, params={"status": "approved"})
    assert bad.status_code == 422


def test_a_decision_through_the_api_names_the_version_it_rests_on(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    for who, outcome in (("clerk", "accept"), ("reviewer", "pass")):
        h = login(who)
        task = _queue(client, h)[0]
        # accepting and reviewing may name the version; they need not
        done = client.post(f"/api/v1/services/work/{task['id']}/complete", headers=h, json={"outcome": outcome})
        assert done.status_code == 200, done.text
    h = login("approver")
    task = _queue(client, h)[0]
    url = f"/api/v1/services/work/{task['id']}/complete"
    seen = task["case"]["version"]
    missing = client.post(url, headers=h, json={"outcome": "approve"})
    assert missing.status_code == 428 and missing.json()["type"].endswith("/precondition-required")
    # the case changes after the approver read it (the pre-review's note, a late correction…)
    with city.db.transaction() as s:
        case = s.get(Case, case_id)
        assert case is not None
        case.decision_reason = "note added after the approver read the case"
    stale = client.post(url, headers={**h, "If-Match": f'"{seen}"'}, json={"outcome": "approve"})
    assert stale.status_code == 412 and stale.json()["version"] != seen
    assert client.get(f"/api/v1/services/cases/{case_id}", headers=h).json()["status"] == "in_review"  # nothing done
    fresh = _queue(client, h)[0]["case"]["version"]
    assert fresh == stale.json()["version"]
    done = client.post(url, headers={**h, "If-Match": f'W/"{fresh}"'}, json={"outcome": "approve"})
    assert done.status_code == 200 and done.json()["status"] == "approved"
    assert done.json()["version"] != fresh
