"""The traffic page in headless Chromium, in Chinese and English: the network coloured by grade on the
platform's base map, the city's TPI gauge and trend, each district's index, an incident linked to its case."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from onecity.core.db import Database
from onecity.core.identity import service as identity
from onecity.core.identity.principal import system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.ops.units import install_units
from onecity.synth.geography.generate import generate_geography
from onecity.synth.geography.load import load_geography
from onecity.traffic.models import SegmentState
from onecity.traffic.network import Network
from onecity.traffic.runner import RunConfig, advance, finish, start_run
from tests.browser_support import live_server, shot, sign_in_page

pytestmark = pytest.mark.browser
PASSWORD = "Browser-traffic-7"
SYSTEM = system_principal("browser-tests")


def _seed(db: Database, root: Path) -> None:
    with db.transaction() as s:
        load_geography(s, generate_geography())
        identity.create_agency(
            s, SYSTEM, code="sh-ops", name="城市运行管理中心", name_en="City Operations Centre",
            division_code="310000000000",
        )  # fmt: skip
        identity.create_user(
            s, SYSTEM, username="traffic.duty", password=PASSWORD, kind=PrincipalKind.STAFF,
            roles=[Role.DISPATCHER], agency_code="sh-ops", division_code="310000000000", display_name="值班员",
        )  # fmt: skip
        for district in ("310101000000", "310106000000"):
            install_units(s, within=district)
    cfg = RunConfig(
        area="tiny", seed=1, minutes=20, begin="08:00", incidents_per_hour=0, trips_per_km_hour=30, root=root
    )
    state = start_run(db, cfg)
    try:
        advance(db, state, cfg.begin_s + 300)
        with db.sessions() as s:
            busiest = s.scalars(
                select(SegmentState.edge_id)
                .where(SegmentState.edge_id.in_(list(state.ids.loops)), SegmentState.flow_vph.is_not(None))
                .order_by(SegmentState.flow_vph.desc(), SegmentState.edge_id)
            ).first()
        assert busiest is not None
        station = next(st for st in state.sim.stations if st.edge_id == busiest)
        state.sim.inject(busiest, duration_s=1500, pos_m=station.pos_m + 40)
        advance(db, state, cfg.begin_s + 1200)
    finally:
        finish(db, state)


@pytest.fixture(scope="module")
def server(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, tiny: Network, tiny_root: Path
) -> Iterator[str]:
    path = tmp_path_factory.mktemp("traffic-browser") / "onecity.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    _seed(db, tiny_root)
    with live_server(db, "traffic-browser") as url:
        yield url
    db.dispose()


def test_traffic_page_in_both_languages(server: str, page: Any) -> None:
    sign_in_page(page, server, "traffic.duty", "/traffic", password=PASSWORD)
    page.wait_for_selector("#traffic-map[data-state=ready] canvas", timeout=30000)
    page.wait_for_selector("#traffic-map[data-lines]", timeout=30000)  # the segments, on the base map's roads
    assert int(page.get_attribute("#traffic-map", "data-lines") or 0) > 0
    assert page.get_attribute("#traffic-map", "data-map-error") is None  # every base-map tile came
    city = page.inner_text("#city-tpi")
    assert any(ch.isdigit() for ch in city) and any(g in city for g in ("畅通", "拥堵"))
    districts = page.inner_text("#district-table")
    assert "黄浦区" in districts and "3101" not in districts
    assert any(g in districts for g in ("畅通", "基本畅通", "轻度拥堵", "中度拥堵", "严重拥堵"))
    incidents = page.inner_text("#incident-table")
    assert ("处置中" in incidents or "已恢复" in incidents) and "查看工单" in incidents
    case_link = page.get_attribute("#incident-table a[href^='/ops/cases/']", "href")
    assert case_link
    shot(page, "traffic-overview")
    page.goto(server + "/lang/en?next=/traffic")
    page.wait_for_selector("#traffic-map[data-state=ready]", timeout=30000)
    assert "Huangpu" in page.inner_text("#district-table")
    incidents = page.inner_text("#incident-table")
    assert "Open the case" in incidents and ("Under way" in incidents or "Cleared" in incidents)
    shot(page, "traffic-overview-en")
    page.goto(server + case_link)
    assert "E0507" in page.content() or "道路交通事件" in page.content() or "Road traffic incident" in page.content()
    assert page.problems == []


def test_traffic_page_at_phone_width(server: str, browser: Any) -> None:
    """The map, the gauge and the tables fit a phone, in both languages (screenshots for a person to look at)."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    try:
        page = phone.new_page()
        sign_in_page(page, server, "traffic.duty", "/traffic", password=PASSWORD)
        for lang in ("zh", "en"):
            page.goto(f"{server}/lang/{lang}?next=/traffic")
            page.wait_for_selector("#traffic-map[data-lines]", timeout=30000)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 391  # nothing wider than the phone
            shot(page, f"traffic-overview-phone-{lang}")
    finally:
        phone.close()
