"""The hub's pages as a browser reads them: catalogue search, the sharing workbench, who read my data."""

from __future__ import annotations

import re

from tests.hub.sharing.conftest import PURPOSE, Hub
from tests.web_support import csrf, sign_in


def test_catalogue_search_and_dataset_page(hub: Hub) -> None:
    c = hub.client
    r = c.get("/catalogue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    sign_in(c, "zhang.san")
    page = c.get("/catalogue", params={"q": "人口"})
    assert page.status_code == 200 and "人口基础信息库" in page.text and "法人基础信息库" not in page.text
    page = c.get("/catalogue", params={"sensitivity": "sensitive", "theme": "bogus", "page": "99"})
    assert page.status_code == 200
    detail = c.get("/catalogue/hub.person")
    assert detail.status_code == 200
    assert "公民身份号码" in detail.text and "badge-sensitive" in detail.text
    assert 'id="request-form"' not in detail.text  # residents do not request data
    assert c.get("/catalogue/hub.nothing").status_code == 404


def test_a_steward_requests_through_the_form_and_the_owner_approves_on_the_workbench(hub: Hub) -> None:
    c = hub.client
    sign_in(c, "mca.steward")
    detail = c.get("/catalogue/hub.person")
    assert 'id="request-form"' in detail.text
    form = {
        "csrf_token": csrf(detail.text),
        "fields": ["id", "name", "phone"],
        "unmasked": ["name"],
        "purpose": PURPOSE,
        "legal_basis": "社会救助暂行办法第十一条",
        "scope": "310104000000",
        "valid_until": "2026-12-31",
    }
    bad = c.post("/catalogue/hub.person/request", data={**form, "fields": []})
    assert bad.status_code == 422 and "alert-error" in bad.text
    r = c.post("/catalogue/hub.person/request", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sharing?created=1"
    workbench = c.get("/sharing?created=1")
    assert "人口基础信息库" in workbench.text and "status-pending" in workbench.text
    c.post("/logout", data={"csrf_token": csrf(workbench.text)})

    sign_in(c, "psb.steward.xh")
    workbench = c.get("/sharing")
    found = re.search(r'action="/sharing/requests/([0-9a-f-]{36})/approve"', workbench.text)
    assert found, workbench.text
    rid = found.group(1)
    no_csrf = c.post(f"/sharing/requests/{rid}/approve", data={"reason": "ok"})
    assert no_csrf.status_code == 403
    r = c.post(
        f"/sharing/requests/{rid}/approve",
        data={"csrf_token": csrf(workbench.text), "reason": "lawful"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/sharing?done=approved"
    again = c.post(f"/sharing/requests/{rid}/approve", data={"csrf_token": csrf(workbench.text)})
    assert again.status_code == 409 and "alert-error" in again.text
    assert 'data-action="revoke"' in c.get("/sharing").text


def test_the_workbench_is_for_stewards(hub: Hub) -> None:
    sign_in(hub.client, "mca.reviewer")
    assert hub.client.get("/sharing").status_code == 403


def test_who_read_my_data_page(hub: Hub) -> None:
    hub.approve(hub.request()["id"])
    assert hub.read("mca.reviewer", purpose=f"{PURPOSE}: case 2026-000123").status_code == 200
    sign_in(hub.client, "zhang.san")
    page = hub.client.get("/me/data")
    assert page.status_code == 200
    assert 'id="link-status"' in page.text and "已关联" in page.text
    assert "徐汇区民政局" in page.text and "人口基础信息库" in page.text and "case 2026-000123" in page.text
    assert "公民身份号码 （脱敏）" in page.text
    hub.client.cookies.set("lang", "en")
    en = hub.client.get("/me/data")
    assert "Resident ID number (masked)" in en.text
