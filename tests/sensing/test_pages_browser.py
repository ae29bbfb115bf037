"""The sensing pages in headless Chromium: device map with health, live alerts, a datastream's
chart and the rules page (create through the form; a bad rule is refused with the reason)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from onecity.core import clock
from onecity.core.bus import consumers
from onecity.core.db import Database
from onecity.core.divisions import Division
from onecity.core.identity import service as identity
from onecity.core.identity.principal import system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.sensing import service
from onecity.sensing.ingest import NewObservation, store_observations
from onecity.sensing.models import Datastream, Thing
from onecity.sensing.sta.service import Writer
from onecity.synth.geography.generate import generate_geography
from onecity.synth.geography.load import load_geography
from tests.browser_support import live_server, shot, sign_in_page
from tests.sensing.conftest import station

pytestmark = pytest.mark.browser
PASSWORD = "Browser-sensing-7"
SYSTEM = system_principal("browser-tests")


def _seed(db: Database) -> tuple[int, str]:
    """The river's datastream, and the name of the township its station stands in."""
    with db.transaction() as s:
        identity.create_agency(
            s,
            SYSTEM,
            code="sh-ops",
            name="城市运行管理中心",
            name_en="City Operations Centre",
            division_code="310000000000",
        )
        identity.create_user(
            s,
            SYSTEM,
            username="ops.duty",
            password=PASSWORD,
            kind=PrincipalKind.STAFF,
            roles=[Role.OPERATOR],
            agency_code="sh-ops",
            division_code="310000000000",
            display_name="值班员",
        )
        service.create_rule(
            s,
            SYSTEM,
            name="河道高水位",
            kind="threshold",
            level="orange",
            observed_property="water_level",
            params={"above": 4.5, "clear_below": 4.3},
        )
    streams = []
    with db.transaction() as s:
        w = Writer(s, SYSTEM)
        for name, prop, unit, lon, lat in [
            ("外滩水位站", "water_level", "m", 121.4737, 31.2304),
            ("徐家汇雨量站", "rainfall", "mm", 121.437, 31.195),
            ("静安客流", "crowd_density", "p/m2", 121.445, 31.228),
        ]:
            w.create("Things", station(name, prop, unit, lon, lat))
            streams.append([i for es, i in w.created if es == "Datastreams"][-1])
    start = clock.now() - timedelta(hours=12)
    with db.transaction() as s:
        rows = [
            NewObservation(streams[0], start + timedelta(minutes=10 * i), 3.4 + 0.8 * (i / 72) + 0.3 * ((i % 12) / 12))
            for i in range(72)
        ]
        rows += [NewObservation(streams[1], start + timedelta(minutes=10 * i), float(i % 7)) for i in range(72)]
        store_observations(s, rows, principal=SYSTEM, origin="test")
    with db.transaction() as s:  # the river crosses 4.5 m now
        store_observations(s, [NewObservation(streams[0], clock.now(), 4.86)], principal=SYSTEM, origin="test")
    with db.sessions() as s:
        township = s.scalar(
            select(Division.name)
            .join(Thing, Thing.township_code == Division.code)
            .join(Datastream, Datastream.thing_id == Thing.id)
            .where(Datastream.id == streams[0])
        )
    assert township
    return streams[0], township


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, str]]:
    path = tmp_path_factory.mktemp("sensing-browser") / "onecity.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    with db.transaction() as session:  # the grids the devices are located in, and the base map's outlines
        load_geography(session, generate_geography())
    river, township = _seed(db)
    consumers.deliver_pending(db)  # the rules judge the stored readings (no server relays yet)
    with live_server(db, "sensing-browser") as url:
        yield url, river, township
    db.dispose()


def test_overview_map_alerts_and_chart(server: tuple[str, int, str], page: Any) -> None:
    base, river, township = server
    sign_in_page(page, base, "ops.duty", "/sensing", password=PASSWORD)
    page.wait_for_selector("#sensing-map[data-state=ready] canvas", timeout=60000)  # the base map
    page.wait_for_selector("#sensing-map[data-points]", timeout=20000)
    assert int(page.get_attribute("#sensing-map", "data-points") or 0) >= 1  # the devices on it
    rows = page.inner_text("#alert-rows")
    assert "水位 4.86" in rows and "橙色" in rows and township in rows  # words, not keys or grid codes
    assert "water_level" not in rows and "3101" not in rows
    assert page.inner_text("#active-count") == "1"
    assert "外滩水位站" in page.inner_text("#device-table") and "water_level" not in page.inner_text("#device-table")
    page.wait_for_timeout(5500)  # one refresh of the live list keeps the alert, in words
    rows = page.inner_text("#alert-rows")
    assert "水位 4.86" in rows and township in rows and "water_level" not in rows and "3101" not in rows
    shot(page, "sensing-overview")
    page.goto(base + "/lang/en?next=/sensing")
    page.wait_for_timeout(5500)  # and in English after a refresh
    rows = page.inner_text("#alert-rows")
    assert "Water level 4.86" in rows and "water_level" not in rows and "3101" not in rows
    shot(page, "sensing-overview-en")
    page.goto(base + "/lang/zh?next=/sensing")
    page.click(f"a[href='/sensing/datastreams/{river}']")
    page.wait_for_selector("#ds-chart[data-state=ready]", timeout=20000)
    assert page.inner_text("#ds-name") == "外滩水位站 · 水位"  # the device and what it measures, in words
    shot(page, "sensing-datastream")
    assert page.problems == []


def test_overview_and_datastream_at_phone_width(server: tuple[str, int, str], browser: Any) -> None:
    """The map and the tables fit a phone, in both languages (screenshots for a person to look at)."""
    base, river, _ = server
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    try:
        page = phone.new_page()
        sign_in_page(page, base, "ops.duty", "/sensing", password=PASSWORD)
        for lang in ("zh", "en"):
            for path, name, ready in (
                ("/sensing", "sensing-overview", "#sensing-map[data-points]"),
                (f"/sensing/datastreams/{river}", "sensing-datastream", "#ds-chart[data-state=ready]"),
            ):
                page.goto(f"{base}/lang/{lang}?next={path}")
                page.wait_for_selector(ready, timeout=30000)
                wide = page.evaluate(
                    "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391)"
                    ".slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)"
                )
                assert page.evaluate("() => document.documentElement.scrollWidth") <= 391, (path, lang, wide)
                shot(page, f"{name}-phone-{lang}")
    finally:
        phone.close()


def test_rules_page_creates_and_refuses(server: tuple[str, int, str], page: Any) -> None:
    base, _, _ = server
    sign_in_page(page, base, "ops.duty", "/sensing/rules", password=PASSWORD)
    assert "河道高水位" in page.inner_text("#rule-table")
    page.fill("#rule-form input[name=name]", "积水预警")
    page.select_option("#rule-form select[name=level]", "yellow")
    page.select_option("#rule-form select[name=observed_property]", "ponding_depth")
    page.select_option("#rule-form select[name=area_code]", label="　天平路街道")  # the area by its name
    page.fill("#rule-form input[name=value]", "0.15")
    page.fill("#rule-form input[name=clear]", "0.1")
    page.click("#rule-form button[type=submit]")
    page.wait_for_url(base + "/sensing/rules?saved=true")
    assert "积水预警" in page.inner_text("#rule-table")
    saved = page.locator("#rule-table tr", has_text="积水预警").inner_text()
    assert "积水深度" in saved and "天平路街道" in saved and "高于 0.15，回落至 0.1 以下解除" in saved
    row = page.locator("#rule-table tr", has_text="积水预警")
    row.locator("button").click()  # disable it
    page.wait_for_url(base + "/sensing/rules?saved=true")
    assert "启用" in page.locator("#rule-table tr", has_text="积水预警").inner_text()
    page.fill("#rule-form input[name=name]", "坏规则")
    page.select_option("#rule-form select[name=observed_property]", "water_level")
    page.fill("#rule-form input[name=value]", "1")
    page.fill("#rule-form input[name=clear]", "2")
    page.click("#rule-form button[type=submit]")
    assert "解除值不能高于阈值" in page.inner_text("#err-clear")  # named beside the field
    assert page.get_attribute("#rule-form input[name=clear]", "aria-invalid") == "true"
    page.fill("#rule-form input[name=value]", "abc")
    page.fill("#rule-form input[name=clear]", "")
    page.click("#rule-form button[type=submit]")
    assert "请填写数字" in page.inner_text("#err-value")
    shot(page, "sensing-rules")
    # switch to English: the same page in the other language
    page.goto(base + "/lang/en?next=/sensing/rules")
    assert "Stream rules" in page.inner_text("h1")
    # the refused form came back as a 422 page, which the browser reports; nothing else went wrong
    assert [p for p in page.problems if "status of 422" not in p] == []
