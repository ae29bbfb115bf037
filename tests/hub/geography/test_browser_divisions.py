"""The division browser in a real browser: sign in, drill down city → district → township → grids.

A uvicorn server runs in a thread on a copy of the SQLite database with the geography loaded;
headless Chromium (Debian's package) drives it through Playwright, clicking the map itself
(not the links) at the centroid of the next division. Screenshots land in
``test-output/screenshots/divisions-*.png`` for a person to look at.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely

from onecity.core.db import Database
from onecity.core.identity import service
from onecity.core.identity.principal import system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.hub.geography.models import DivisionShape
from tests.browser_support import live_server, shot

pytestmark = pytest.mark.browser

USER, PASSWORD = "inspector.xuhui", "Browser-test-42"
XUHUI, TIANPINGLU = "310104000000", "310104003000"


@pytest.fixture(scope="module")
def server(geo_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    path = tmp_path_factory.mktemp("divisions-browser") / "onecity.db"
    shutil.copy(geo_sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    system = system_principal("browser-tests")
    with db.transaction() as session:
        service.create_agency(
            session,
            system,
            code="xh-cgj",
            name="徐汇区城市管理局",
            name_en="Xuhui Urban Management Bureau",
            division_code=XUHUI,
        )
    with db.transaction() as session:
        service.create_user(
            session,
            system,
            username=USER,
            password=PASSWORD,
            kind=PrincipalKind.STAFF,
            roles=[Role.INSPECTOR],
            agency_code="xh-cgj",
            division_code=XUHUI,
            display_name="赵网格员",
        )
    with live_server(db, "divisions-browser") as url:
        yield url, db
    db.dispose()


def _shot(page: Any, name: str) -> None:
    shot(page, f"divisions-{name}")


def _wait_for_map(page: Any) -> dict[str, Any]:
    page.wait_for_selector("#division-map[data-state=ready] canvas", timeout=20000)
    drawn: dict[str, Any] = page.evaluate("""() => {
        const el = document.getElementById('division-map');
        const canvas = el.querySelector('canvas');
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4 * 7) { if (pixels[i] > 0) painted++; }
        const series = echarts.getInstanceByDom(el).getOption().series[0];
        return {codes: series.data.map(d => d.name), painted: painted / (pixels.length / (4 * 7))};
    }""")
    return drawn


def _click_on_map(page: Any, lon: float, lat: float, click: bool = True) -> None:
    x, y = page.evaluate(
        """([lon, lat]) => {
        const el = document.getElementById('division-map');
        const box = el.getBoundingClientRect();
        const [px, py] = echarts.getInstanceByDom(el).convertToPixel({seriesIndex: 0}, [lon, lat]);
        return [box.left + px, box.top + py];
    }""",
        [lon, lat],
    )
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y)  # hovering shows the tooltip
    if click:
        page.mouse.click(x, y)


def _inner_point(db: Database, code: str) -> tuple[float, float]:
    """A point well inside the division (a centroid can fall outside a concave outline)."""
    with db.sessions() as session:
        shape = session.get(DivisionShape, code)
        assert shape is not None
        geom = shapely.from_geojson(shape.geometry)
    point = shapely.point_on_surface(shapely.buffer(geom, -0.1 * (geom.area**0.5)) or geom)
    if point.is_empty:
        point = shapely.point_on_surface(geom)
    return point.x, point.y


def test_drill_down_from_the_city_to_grids(server: tuple[str, Database], browser: Any) -> None:
    base, db = server
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(base + "/divisions")
    assert "/login?next=/divisions" in page.url
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(base + "/divisions")
    drawn = _wait_for_map(page)
    assert len(drawn["codes"]) == 16 and XUHUI in drawn["codes"]
    assert drawn["painted"] > 0.2, f"the map is mostly blank ({drawn['painted']:.0%} painted)"
    assert page.inner_text("#division-stats").replace("\n", " ").count("4,563") == 1
    _shot(page, "city-zh")

    _click_on_map(page, *_inner_point(db, XUHUI))
    page.wait_for_url(base + f"/divisions/{XUHUI}")
    drawn = _wait_for_map(page)
    assert len(drawn["codes"]) == 13 and TIANPINGLU in drawn["codes"]
    assert page.inner_text("h1") == "徐汇区"
    _shot(page, "district-xuhui")

    _click_on_map(page, *_inner_point(db, TIANPINGLU))
    page.wait_for_url(base + f"/divisions/{TIANPINGLU}")
    drawn = _wait_for_map(page)
    assert drawn["codes"] and all(c.startswith("310104003") for c in drawn["codes"])
    _click_on_map(page, *_inner_point(db, TIANPINGLU), click=False)
    tooltip = page.wait_for_selector("#division-map div:has-text('单元网格')", timeout=5000)
    assert tooltip is not None
    _shot(page, "township-tianpinglu")

    # whichever community or village lies under that point, then its grids
    _click_on_map(page, *_inner_point(db, TIANPINGLU))
    page.wait_for_url(re.compile(r"/divisions/310104003(?!000)\d{3}$"))
    code = page.url.rsplit("/", 1)[-1]
    drawn = _wait_for_map(page)
    assert drawn["codes"] and all(len(c) == 15 and c.startswith(code) for c in drawn["codes"])
    _shot(page, "community-grids")

    page.click(".lang-switch a[lang=en]")
    page.wait_for_selector("html[lang=en]")
    _wait_for_map(page)
    assert "Unit grids" in page.inner_text("#children-title")
    page.goto(base + f"/divisions/{XUHUI}")
    _wait_for_map(page)
    assert page.inner_text("h1") == "Xuhui"
    page.mouse.move(5, 5)
    _shot(page, "district-xuhui-en")
    assert problems == []  # no script errors, no CSP violations
    context.close()
