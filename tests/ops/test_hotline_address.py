"""The 12345 call-taker types an address instead of coordinates: on the page, and in Chromium.

The browser test serves a SQLite copy holding Xuhui's and Huangpu's geography and a gazetteer
built from addresses written as the registries write them; screenshots land in
``test-output/screenshots/ops-hotline-*.png`` (Chinese and English, desktop and phone).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core.db import Database
from onecity.core.identity import service as identity
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.geography.models import Place
from onecity.ops.models import Case
from onecity.ops.units import install_units
from tests.browser_support import live_server, shot, sign_in_page, watched_page
from tests.geocode_support import build_area, load_area
from tests.ops.conftest import SYSTEM, XUHUI, Ops
from tests.ops.test_open311_address import gazetteer  # noqa: F401  (the fixture)
from tests.web_support import csrf, sign_in

PASSWORD = "Browser-hotline-42"


def _lane_with_township(db: Database, lane: Place) -> tuple[str, str]:
    with db.sessions() as session:
        township = session.scalars(select(Place.name).where(Place.key == f"division/{lane.township_code}")).one()
    assert lane.street is not None
    return township, lane.street


def test_hotline_takes_an_address_without_coordinates(
    client: TestClient,
    staff_users: Callable[..., Ops],
    db: Database,
    gazetteer: Place,  # noqa: F811
) -> None:
    staff_users("hotline")
    lane = gazetteer
    township, street = _lane_with_township(db, lane)
    sign_in(client, "hotline")
    page = client.get("/ops/hotline")
    assert page.status_code == 200 and 'id="hotline-address"' in page.text and 'role="combobox"' in page.text
    form = {"csrf_token": csrf(page.text), "subtype": "E0101", "description": "路口垃圾"}
    r = client.post("/ops/hotline", data={**form, "address": f"徐汇区{township}{street}{lane.number}弄3号"})
    assert r.status_code == 200 and 'id="hotline-result"' in r.text, r.text[-2000:]
    found = re.search(r'data-case="([0-9a-f-]{36})"', r.text)
    assert found, r.text
    cid = found.group(1)
    with db.sessions() as session:
        case = session.get(Case, cid)
        assert case is not None and case.grid_code == lane.grid_code
    r = client.post("/ops/hotline", data={**form, "address": "火星基地1号"})
    assert r.status_code == 422 and "无法确定“火星基地1号”的位置" in r.text
    r = client.post("/ops/hotline", data=form)
    assert r.status_code == 422 and "请填写事发地址" in r.text


@pytest.fixture(scope="module")
def hotline_server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    path = tmp_path_factory.mktemp("hotline-browser") / "onecity.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    load_area(db)
    build_area(db)
    with db.transaction() as session:
        install_units(session, SYSTEM, within=XUHUI)
        identity.create_agency(
            session,
            SYSTEM,
            code="sh-12345",
            name="上海市12345热线",
            name_en="Shanghai 12345",
            division_code="310000000000",
        )
        identity.create_user(
            session,
            SYSTEM,
            username="call.taker",
            password=PASSWORD,
            kind=PrincipalKind.STAFF,
            roles=[Role.DISPATCHER],
            agency_code="sh-12345",
            division_code="310000000000",
        )
        identity.create_agency(
            session, SYSTEM, code="xh-ccc", name="徐汇区城市运行管理中心", name_en="Xuhui Urban Operation Centre",
            division_code=XUHUI,
        )  # fmt: skip
        identity.create_user(
            session, SYSTEM, username="xh.centre", password=PASSWORD, kind=PrincipalKind.STAFF,
            roles=[Role.OPERATOR, Role.DISPATCHER], agency_code="xh-ccc", division_code=XUHUI,
        )  # fmt: skip
    with live_server(db, "hotline-browser") as url:
        yield url, db
    db.dispose()


def _take_call(page: Any, url: str, db: Database, lane: Place, typed: str, lang: str) -> str:
    """Type the address, pick the suggestion in the lane's grid, open the work order; its case id."""
    page.fill("#hotline-address", "")
    page.type("#hotline-address", typed, delay=15)
    page.wait_for_selector("#hotline-suggestions li[data-grid]", timeout=15000)
    options = page.locator("#hotline-suggestions li[data-grid]")
    grids = options.evaluate_all("els => els.map(e => e.dataset.grid)")
    assert lane.grid_code in grids, (typed, grids)
    shot(page, f"ops-hotline-suggestions-{lang}")
    options.nth(grids.index(lane.grid_code)).click()
    assert page.locator("#hotline-place").get_attribute("data-grid") == lane.grid_code
    assert lane.grid_code in page.inner_text("#hotline-place")
    assert page.input_value("#hotline-lon") != ""  # the point came with the pick; nobody typed it
    if lang == "zh":  # the map went to the pick; a click on it places the case there, with the nearest address
        page.wait_for_selector("#hotline-map[data-state=ready] canvas", timeout=60000)
        picked_lon = page.input_value("#hotline-lon")
        page.wait_for_timeout(800)  # the jump to the picked point
        at = page.evaluate(
            "() => { const el = document.getElementById('hotline-map'); const lon = Number(document.getElementById("
            "'hotline-lon').value), lat = Number(document.getElementById('hotline-lat').value);"
            " const p = el.baseMap.map.project([lon, lat]); return {x: p.x + 2, y: p.y}; }"
        )
        page.locator("#hotline-map canvas").click(position=at)  # two pixels east of the picked address
        page.wait_for_function(f"() => document.getElementById('hotline-lon').value !== '{picked_lon}'", timeout=15000)
        page.wait_for_function("() => (document.getElementById('hotline-place').dataset.grid || '').length === 15")
        assert page.locator("#hotline-place").get_attribute("data-grid") == lane.grid_code
        assert page.input_value("#hotline-address") != ""  # the gazetteer's nearest address
        shot(page, "ops-hotline-map-click-zh")
    page.fill("textarea[name=description]", "路口垃圾满溢" if lang == "zh" else "Overflowing bins at the corner")
    shot(page, f"ops-hotline-placed-{lang}")
    page.click("#hotline-form button[type=submit]")
    page.wait_for_selector("#hotline-result")
    shot(page, f"ops-hotline-created-{lang}")
    return str(page.get_attribute("#hotline-result", "data-case"))


@pytest.mark.browser
def test_call_taker_types_an_address_with_a_typo_and_the_case_opens_in_its_grid(
    hotline_server: tuple[str, Database], browser: Any
) -> None:
    """The issue's "done when": the call-taker types an address with a typo and picks the suggestion, the case
    opens in the right grid; the district centre lists it and drills down to its township; the wall screen,
    open meanwhile, shows the call-taker's next case without a click."""
    url, db = hotline_server
    with db.sessions() as session:
        lanes = list(
            session.scalars(
                select(Place).where(Place.kind == "lane", Place.district_code == XUHUI).order_by(Place.id).limit(2)
            )
        )
        for lane in lanes:
            session.expunge(lane)
    wall = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    try:
        with watched_page(browser) as page:
            sign_in_page(page, url, "call.taker", "/ops/hotline", password=PASSWORD)
            lane = lanes[0]
            township, street = _lane_with_township(db, lane)
            typo = street[:-2] + "东" + street[-1]  # one wrong character in the road's name
            case_id = _take_call(page, url, db, lane, f"{township}{typo}{lane.number}弄", "zh")
            with db.sessions() as session:
                case = session.get(Case, case_id)
                assert case is not None and case.grid_code == lane.grid_code and case.source == "hotline"

            # the district centre lists it, and drills down to its township, where it is listed too
            centre = wall.new_page()
            sign_in_page(centre, url, "xh.centre", f"/ops/centre/{XUHUI}", password=PASSWORD)
            assert centre.locator(f'#case-table tr[data-case="{case_id}"]').count() == 1
            centre.click(f'#children-table tr[data-code="{lane.township_code}"] a')
            centre.wait_for_url(f"{url}/ops/centre/{lane.township_code}")
            assert centre.locator(f'#case-table tr[data-case="{case_id}"]').count() == 1
            assert township in centre.inner_text("h1")

            # the wall screen, opened once, follows the next call by itself
            centre.goto(f"{url}/ops/centre/{XUHUI}/screen")
            centre.wait_for_function("() => Number(document.body.dataset.liveUpdates || 0) >= 1", timeout=15000)
            assert centre.locator(f'#screen-next li[data-case="{case_id}"]').count() == 1
            before = int(centre.inner_text('[data-total="open"]'))

            page.goto(f"{url}/lang/en?next=/ops/hotline")
            lane = lanes[1]
            township, street = _lane_with_township(db, lane)
            from pypinyin import lazy_pinyin

            typed = f"{''.join(lazy_pinyin(township))} {''.join(lazy_pinyin(street))} {lane.number} nong"
            second = _take_call(page, url, db, lane, typed, "en")
            with db.sessions() as session:
                case = session.get(Case, second)
                assert case is not None and case.grid_code == lane.grid_code
            assert page.problems == []

            centre.wait_for_function(
                f"() => Number(document.querySelector('[data-total=open]').textContent) === {before + 1}",
                timeout=15000,
            )
            centre.wait_for_selector(f'#screen-next li[data-case="{second}"]', timeout=15000)
            assert centre.evaluate("() => performance.getEntriesByType('navigation').length") == 1  # no reload
            shot(centre, "ops-screen-after-call-zh")
    finally:
        wall.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    try:
        p = phone.new_page()
        sign_in_page(p, url, "call.taker", "/ops/hotline", password=PASSWORD)
        p.type("#hotline-address", f"{township}{street}", delay=15)
        p.wait_for_selector("#hotline-suggestions li[data-grid]", timeout=15000)
        shot(p, "ops-hotline-suggestions-phone")
    finally:
        phone.close()
