"""The services pages over HTTP: public pages, a bundle application in one go, counter and workbench access."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD
from tests.services.conftest import PDF, City
from tests.web_support import csrf as csrf_from
from tests.web_support import sign_in


def test_public_pages_need_no_sign_in(client: TestClient) -> None:
    portal = client.get("/services")
    assert portal.status_code == 200 and "食品经营许可" in portal.text
    assert "/services/bundles/open-restaurant" in portal.text
    perf = client.get("/services/performance", params={"by": "district"})
    assert perf.status_code == 200 and 'id="perf-chart"' not in perf.text  # no cases yet: no chart
    assert client.get("/services/bundles/have-a-baby").status_code == 200
    assert client.get("/services/items/310000-01-00040-001").status_code == 200
    assert client.get("/services/work", follow_redirects=False).status_code in (401, 303)
    assert client.get("/services/performance", params={"by": "planet"}).status_code == 422


def test_a_restaurant_bundle_on_the_portal(city: City, client: TestClient) -> None:
    sign_in(client, "resident", PASSWORD, next_path="/services")
    page = client.get("/services/bundles/open-restaurant")
    r = client.post(
        "/services/bundles/open-restaurant/apply",
        data={"uscc": city.firm.uscc, "csrf_token": csrf_from(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    app_page = client.get(r.headers["location"])
    assert "firm.uscc" in app_page.text and 'id="bundle-missing"' in app_page.text
    r = client.post(
        r.headers["location"] + "/documents",
        data={"material_code": "floor_plan", "csrf_token": csrf_from(app_page)},
        files={"file": ("plan.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    after = client.get(r.headers["location"])
    assert "经营场所平面布局图" not in after.text.split('id="bundle-missing"')[1].split("</div>")[0]
    # submitting with materials still missing comes back with the one-time notice, nothing submitted
    r = client.post(r.headers["location"] + "/submit", data={"csrf_token": csrf_from(after)})
    assert r.status_code == 422 and "一次性告知" in r.text


def test_counter_and_workbench_are_for_staff(city: City, client: TestClient) -> None:
    sign_in(client, "resident", PASSWORD, next_path="/services")
    assert client.get("/services/counter", params={"id_number": city.rep.id_number}).status_code == 403
    client.cookies.clear()
    sign_in(client, "clerk", PASSWORD, next_path="/services/counter")
    counter = client.get("/services/counter", params={"id_number": city.rep.id_number})
    assert counter.status_code == 200 and 'id="counter-apply"' in counter.text
    r = client.post(
        "/services/counter/apply",
        data={"id_number": city.rep.id_number, "item_code": "310000-20-00081-001", "csrf_token": csrf_from(counter)},
    )
    assert r.status_code == 422 and "identity" in r.text  # the ID document must be checked first
    assert client.get("/services/work").status_code == 200


def test_the_workbench_asks_for_supplements_by_ticking_materials(city: City, client: TestClient) -> None:
    from onecity.services import service

    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, "310000-01-00040-001", uscc=city.firm.uscc)
        for m in service.missing_materials(case):
            service.attach_document(
                s,
                city.resident,
                case.id,
                m["code"],
                filename="a.pdf",
                content_type="application/pdf",
                content=PDF,
            )
        service.update_form(s, city.resident, case.id, {"business_items": "自制饮品制售", "floor_area_m2": 30})
        service.submit(s, city.resident, case.id)
    sign_in(client, "clerk", PASSWORD, next_path="/services/work")
    work = client.get("/services/work")
    action = work.text.split('href="/services/work/')[1].split('"')[0]
    task = client.get(f"/services/work/{action}")
    assert 'name="missing" value="floor_plan"' in task.text and 'value="business_licence"' not in task.text
    r = client.post(
        f"/services/work/{action}",
        data={
            "outcome": "supplement",
            "reason": "平面图不清晰",
            "missing": ["floor_plan", "food_safety_rules"],
            "csrf_token": csrf_from(task),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with city.db.transaction() as s:
        again = service.get_case(s, city.resident, case.id)
        assert [m["code"] for m in service.missing_materials(again)] == ["floor_plan", "food_safety_rules"]


def test_the_residents_access_log_names_the_platform_not_its_code(city: City, client: TestClient) -> None:
    """A draft online is prefilled by the one-stop platform's audited reads: the resident's "who read
    my data" names it in words."""
    sign_in(client, "resident", PASSWORD, next_path="/services")
    page = client.get("/services/items/310000-01-00040-001")
    r = client.post(
        "/services/items/310000-01-00040-001/apply",
        data={"uscc": city.firm.uscc, "csrf_token": csrf_from(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    log = client.get("/me/data")
    assert log.status_code == 200 and "一网通办平台" in log.text and ">services:one-stop<" not in log.text
