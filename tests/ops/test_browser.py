"""The issue's key flow in Chromium: an Open311 report in Xuhui, the inspector's phone, the unit's desk,
closure, an overdue case escalated to the district's centre, and the centre's figures updating live.

A uvicorn server runs in a thread on a SQLite copy with Xuhui's township outlines (from the
generated geography) so the district centre's map draws the city's own GeoJSON. Screenshots
land in ``test-output/screenshots/ops-*.png``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from onecity.core import clock
from onecity.core.db import Database
from onecity.core.identity import service as identity
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.ops import service
from onecity.ops.clocks import sweep
from onecity.ops.units import install_units, unit_agency_code
from onecity.synth.geography.generate import generate_geography
from onecity.synth.geography.load import load_geography
from tests.browser_support import live_server, shot, sign_in_page, watched_page
from tests.ops.conftest import SYSTEM, TIANPING_POINT, TIANPINGLU, XUHUI, png

pytestmark = pytest.mark.browser
PASSWORD = "Browser-ops-42"
HOTLINE = Principal(
    kind=PrincipalKind.STAFF,
    id="browser-hotline",
    name="hotline",
    roles=frozenset({Role.DISPATCHER}),
    division_code="310000000000",
)


def _geography(db: Database) -> None:
    """The whole generated geography, as `onecity synth geography` writes it: the base map's tiles come from it."""
    with db.transaction() as session:
        load_geography(session, generate_geography())


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database, str]]:
    path = tmp_path_factory.mktemp("ops-browser") / "onecity.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    _geography(db)
    with db.transaction() as session:
        install_units(session, SYSTEM, within=XUHUI)
        identity.create_agency(
            session,
            SYSTEM,
            code="xh-ccc",
            name="徐汇区城市运行管理中心",
            name_en="Xuhui Urban Operation Centre",
            division_code=XUHUI,
        )
        _k, key = identity.create_api_key(session, SYSTEM, name="311-app", scopes=["open311"])
    for username, role, division, agency in [
        ("tp.inspector", Role.INSPECTOR, TIANPINGLU, "xh-ccc"),
        ("tp.sanitation", Role.OPERATOR, TIANPINGLU, unit_agency_code("sanitation", TIANPINGLU)),
        ("xh.operator", Role.OPERATOR, XUHUI, "xh-ccc"),
    ]:
        with db.transaction() as session:
            identity.create_user(
                session,
                SYSTEM,
                username=username,
                password=PASSWORD,
                kind=PrincipalKind.STAFF,
                roles=[role],
                agency_code=agency,
                division_code=division,
            )
    with live_server(db, "ops-browser") as url:
        yield url, db, key
    db.dispose()


def _post(url: str, key: str, **overrides: Any) -> str:
    r = requests.post(
        f"{url}/open311/v2/requests.json",
        timeout=30,
        data={
            "api_key": key,
            "jurisdiction_id": "shanghai",
            "service_code": "E0101",
            "lat": TIANPING_POINT[1],
            "long": TIANPING_POINT[0],
            "description": "永嘉路口垃圾堆放",
            **overrides,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()[0]["service_request_id"])


def _open311(url: str, rid: str) -> dict[str, Any]:
    rows = requests.get(f"{url}/open311/v2/requests/{rid}.json", timeout=30).json()
    return dict(rows[0])


def test_open311_report_followed_to_closure_on_the_phone_pages(
    server: tuple[str, Database, str], browser: Any, tmp_path: Path
) -> None:
    url, db, key = server
    rid = _post(url, key)
    photo = tmp_path / "done.png"
    photo.write_bytes(png())

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    try:
        page = phone.new_page()
        sign_in_page(page, url, "tp.inspector", "/ops/inspector", password=PASSWORD)
        card = page.locator(f'#inspector-todo li[data-case="{rid}"]')
        assert "待核实" in card.inner_text()
        shot(page, "ops-inspector-todo")
        page.wait_for_selector("#inspector-map[data-state=ready] canvas", timeout=60000)  # opens on Tianpinglu
        page.locator("#inspector-map canvas").click()  # a tap places the report: the point and its nearest address
        page.wait_for_function("() => document.getElementById('inspector-lon').value !== ''", timeout=15000)
        lon, lat = float(page.input_value("#inspector-lon")), float(page.input_value("#inspector-lat"))
        assert abs(lon - TIANPING_POINT[0]) < 0.05 and abs(lat - TIANPING_POINT[1]) < 0.05
        page.wait_for_function("() => document.getElementById('inspector-place').textContent !== ''", timeout=15000)
        card.locator("form[data-action=register] button").click()
        page.wait_for_url(url + "/ops/inspector?done=dispatched")  # registered, then routed at once
        assert _open311(url, rid)["agency_responsible"] == "天平路街道市容环境卫生所"

        unit = phone.new_page()
        phone.clear_cookies()
        sign_in_page(unit, url, "tp.sanitation", "/ops/unit", password=PASSWORD)
        assert "天平路街道市容环境卫生所" in unit.inner_text("#unit-name")
        unit.locator(f'#unit-todo li[data-case="{rid}"] form[data-action=accept] button').click()
        unit.wait_for_url(url + "/ops/unit?done=disposing")
        item = unit.locator(f'#unit-todo li[data-case="{rid}"]')
        item.locator("input[type=file]").set_input_files(str(photo))
        item.locator("input[name=note]").fill("已清运完毕")
        shot(unit, "ops-unit-report-back")
        item.locator("form[data-action=report] button").click()
        unit.wait_for_url(url + "/ops/unit?done=reported")

        phone.clear_cookies()
        sign_in_page(page, url, "tp.inspector", "/ops/inspector", password=PASSWORD)
        card = page.locator(f'#inspector-todo li[data-case="{rid}"]')
        assert card.locator("img.ops-thumb").evaluate("img => img.naturalWidth") == 1  # the unit's photo
        card.locator("form[data-action=verify] button").click()
        page.wait_for_url(url + "/ops/inspector?done=verified")
        shot(page, "ops-inspector-verified")
    finally:
        phone.close()

    with watched_page(browser) as desk:
        sign_in_page(desk, url, "xh.operator", f"/ops/cases/{rid}", password=PASSWORD)
        desk.click("form[data-action=close] button")
        desk.wait_for_url(f"{url}/ops/cases/{rid}?done=closed")
        actions = desk.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.action)")
        assert actions == ["collected", "registered", "dispatched", "accepted", "reported", "verified", "closed"]
        shot(desk, "ops-case-closed")
        assert desk.problems == []
    assert _open311(url, rid)["status"] == "closed"


def test_escalated_case_and_live_counts_at_the_district_centre(server: tuple[str, Database, str], browser: Any) -> None:
    url, db, key = server
    # road flooding reported 90 minutes ago: urgent, 1 clock hour to dispose → overdue, not yet by two limits
    with clock.frozen(clock.now() - timedelta(minutes=90)), db.transaction() as session:
        late = service.intake(
            session,
            HOTLINE,
            source="hotline",
            subtype_code="E0501",
            lon=TIANPING_POINT[0] + 0.003,
            lat=TIANPING_POINT[1],
            description="道路积水没过脚踝",
        ).case.id
    assert sweep(db).escalated == 1
    with watched_page(browser) as page:
        sign_in_page(page, url, "xh.operator", f"/ops/centre/{XUHUI}", password=PASSWORD)
        row = page.locator(f'#case-table tr[data-case="{late}"]')
        assert "已升级至区" in row.inner_text()
        assert row.get_attribute("class") == "is-overdue"
        assert page.locator("#case-table tbody tr").first.get_attribute("data-case") == late  # overdue first
        page.wait_for_selector("#ops-map[data-state=ready] canvas", timeout=60000)
        assert page.get_attribute("#ops-map", "data-map-error") is None  # every base-map tile came
        assert page.locator(f'#children-table tr[data-code="{TIANPINGLU}"] a').count() == 1  # drill-down
        page.wait_for_function("() => Number(document.body.dataset.liveUpdates || 0) >= 1", timeout=15000)
        before = int(page.inner_text('#centre-totals [data-total="open"]'))
        _post(url, key, service_code="E0403", description="人行道停车", long=TIANPING_POINT[0] - 0.004)
        page.wait_for_function(
            f"() => Number(document.querySelector('#centre-totals [data-total=open]').textContent) === {before + 1}",
            timeout=15000,
        )  # without a reload: the SSE stream brought it
        assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
        shot(page, "ops-centre-xuhui")
        page.click(f'#children-table tr[data-code="{TIANPINGLU}"] a')
        page.wait_for_url(f"{url}/ops/centre/{TIANPINGLU}")
        assert page.locator(f'#case-table tr[data-case="{late}"]').count() == 1
        page.wait_for_selector("#ops-map[data-state=ready] canvas", timeout=60000)
        shot(page, "ops-centre-tianpinglu")
        assert page.problems == []


def test_big_screen_updates_live_without_a_click(server: tuple[str, Database, str], browser: Any) -> None:
    url, db, key = server
    wall = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    try:
        page = wall.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        sign_in_page(page, url, "xh.operator", f"/ops/centre/{XUHUI}/screen", password=PASSWORD)
        page.wait_for_selector("#screen-map[data-state=ready] canvas", timeout=60000)
        page.wait_for_function("() => Number(document.body.dataset.liveUpdates || 0) >= 1", timeout=15000)
        before = int(page.inner_text('[data-total="open"]'))
        rid = _post(url, key, service_code="E0403", description="大屏测试：人行道停车", long=TIANPING_POINT[0] + 0.002)
        page.wait_for_function(
            f"() => Number(document.querySelector('[data-total=open]').textContent) === {before + 1}", timeout=15000
        )
        page.wait_for_selector(f'#screen-next li[data-case="{rid}"]', timeout=15000)  # the list came live too
        assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1  # no reload
        assert page.evaluate("() => document.documentElement.scrollHeight") <= 1080  # one screen, no scrolling
        page.wait_for_timeout(1500)  # let the map draw the new point
        shot(page, "ops-screen-xuhui-zh")
        page.goto(f"{url}/lang/en?next=/ops/centre/{XUHUI}/screen")
        page.wait_for_selector("#screen-map[data-state=ready] canvas", timeout=60000)
        page.wait_for_function("() => Number(document.body.dataset.liveUpdates || 0) >= 1", timeout=15000)
        shot(page, "ops-screen-xuhui-en")
        assert problems == []
    finally:
        wall.close()


def test_screenshots_of_the_operations_pages(server: tuple[str, Database, str], browser: Any) -> None:
    """Each page at desktop and phone width, in Chinese and English, for a person to look at."""
    url, db, key = server
    rid = _post(url, key, description="截图用：井盖缺失", service_code="E0101", long=TIANPING_POINT[0] + 0.001)
    pages = [
        ("xh.operator", f"/ops/centre/{XUHUI}", "centre-xuhui", "#ops-map"),
        ("xh.operator", f"/ops/centre/{TIANPINGLU}", "centre-tianpinglu", "#ops-map"),
        ("xh.operator", f"/ops/cases/{rid}", "case", None),
        ("tp.inspector", "/ops/inspector", "inspector", "#inspector-map"),
    ]
    for width, height, form in ((1366, 900, "desktop"), (390, 844, "phone")):
        for lang in ("zh", "en"):
            context = browser.new_context(
                viewport={"width": width, "height": height}, locale="zh-CN", is_mobile=form == "phone"
            )
            try:
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                signed_in = None
                for user, path, name, wait in pages:
                    if user != signed_in:
                        context.clear_cookies()
                        sign_in_page(page, url, user, path, password=PASSWORD)
                        signed_in = user
                    page.goto(f"{url}/lang/{lang}?next={path}")
                    if wait:
                        page.wait_for_selector(f"{wait}[data-state=ready] canvas", timeout=60000)
                    overflow = page.evaluate("() => document.documentElement.scrollWidth") - width
                    assert overflow <= 1, f"{name} is {overflow}px wider than the {form} screen"
                    shot(page, f"ops-{name}-{form}-{lang}")
                    if name == "case":
                        assert "System (" not in page.inner_text("#timeline")  # the app by its key's name
                        assert "系统（" not in page.inner_text("#timeline")
                assert errors == []
            finally:
                context.close()
