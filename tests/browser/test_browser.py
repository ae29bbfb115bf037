"""The pages in a real browser: the map draws, the switches work, staff sign in through the form.

Screenshots land in ``test-output/screenshots`` for a person to look at (machinery in
``tests/browser_support.py``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onecity.core.db import Database
from onecity.core.identity import service
from onecity.core.identity.principal import system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from tests.browser_support import live_server, shot

pytestmark = pytest.mark.browser

ADMIN, PASSWORD = "admin.xuhui", "Browser-test-42"
XUHUI = "310104000000"
XUHUI_LON_LAT = [121.437, 31.18]


def _seed(db: Database) -> None:
    system = system_principal("browser-tests")
    with db.transaction() as session:
        service.create_agency(
            session,
            system,
            code="xh-gov",
            name="徐汇区人民政府",
            name_en="Xuhui District Government",
            division_code=XUHUI,
        )
    with db.transaction() as session:
        service.create_user(
            session,
            system,
            username=ADMIN,
            password=PASSWORD,
            kind=PrincipalKind.STAFF,
            roles=[Role.ADMIN],
            agency_code="xh-gov",
            division_code=XUHUI,
            display_name="王管理员",
        )
        service.create_user(
            session,
            system,
            username="clerk.xuhui",
            password=PASSWORD,
            kind=PrincipalKind.STAFF,
            roles=[Role.COUNTER_CLERK],
            agency_code="xh-gov",
            division_code="310104003000",
            display_name="李窗口",
        )


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("browser") / "onecity.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    _seed(db)
    with live_server(db, "browser-tests") as url:
        yield url
    db.dispose()


def wait_for_map(page: Any) -> dict[str, Any]:
    """Wait until ECharts has drawn the districts; report what it drew."""
    page.wait_for_selector("#district-map[data-state=ready] canvas", timeout=15000)
    drawn: dict[str, Any] = page.evaluate("""() => {
        const el = document.getElementById('district-map');
        const chart = echarts.getInstanceByDom(el);
        const canvas = el.querySelector('canvas');
        const ctx = canvas.getContext('2d');
        const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4 * 7) { if (pixels[i] > 0) painted++; }
        const series = chart.getOption().series[0];
        return {labels: series.data.map(d => d.label), values: series.data.map(d => d.value),
                painted: painted / (pixels.length / (4 * 7)), width: canvas.clientWidth, height: canvas.clientHeight};
    }""")
    return drawn


def hover_xuhui(page: Any) -> str:
    x, y = page.evaluate(f"""() => {{
        const el = document.getElementById('district-map');
        const box = el.getBoundingClientRect();
        const [px, py] = echarts.getInstanceByDom(el).convertToPixel({{seriesIndex: 0}}, {XUHUI_LON_LAT});
        return [box.left + px, box.top + py];
    }}""")
    page.mouse.move(x, y)
    tooltip = page.wait_for_selector("#district-map div:has-text('13')", timeout=5000)
    return str(tooltip.inner_text())


def test_home_map_language_and_large_text(server: str, page: Any) -> None:
    page.goto(server + "/")
    assert page.get_attribute("html", "lang") == "zh-CN"
    drawn = wait_for_map(page)
    assert len(drawn["labels"]) == 16 and "徐汇区" in drawn["labels"] and "浦东新区" in drawn["labels"]
    assert sum(drawn["values"]) == 216
    assert drawn["painted"] > 0.2, f"the map canvas is mostly blank ({drawn['painted']:.0%} painted)"
    assert drawn["width"] >= 700 and drawn["height"] >= 500
    assert "徐汇区" in hover_xuhui(page)
    shot(page, "home-zh")

    page.click(".lang-switch a[lang=en]")
    page.wait_for_url(server + "/")
    assert page.get_attribute("html", "lang") == "en"
    drawn = wait_for_map(page)
    assert "Xuhui" in drawn["labels"] and "Pudong New Area" in drawn["labels"]
    tip = hover_xuhui(page)
    assert "Xuhui" in tip and "Townships" in tip
    assert page.inner_text("h1") == "Digital governance for Shanghai"
    page.mouse.move(5, 5)
    shot(page, "home-en")

    page.click("a.a11y-switch")
    page.wait_for_selector("body.large-text")
    size = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 22
    wait_for_map(page)
    shot(page, "home-large-text")

    page.click("a.a11y-switch")
    page.wait_for_selector("body:not(.large-text)")
    assert page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)") < 22
    assert page.problems == []  # no script errors, no CSP violations


def test_admin_signs_in_through_the_form(server: str, page: Any) -> None:
    page.goto(server + "/admin/users")
    assert "/login?next=/admin/users" in page.url
    page.fill("#username", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(server + "/admin/users")
    table = page.inner_text("#users-table")
    assert ADMIN in table and "clerk.xuhui" in table and "窗口受理员" in table
    assert page.inner_text(".account-name") == "王管理员"
    shot(page, "admin-users")

    page.click(".logout-form button")
    page.wait_for_url(server + "/")
    assert page.locator(".account-name").count() == 0
    assert page.problems == []


def test_api_docs_render_offline(server: str, page: Any) -> None:
    """Swagger UI comes from /static (no CDN) and renders the platform's own OpenAPI document."""
    page.goto(server + "/api/docs")
    # Swagger UI lays out a 0.5 MB document in the browser: seconds on a busy 2-core machine
    page.wait_for_selector(".opblock-tag", timeout=60000)
    tags = page.locator(".opblock-tag").all_inner_texts()
    assert any("auth" in t for t in tags) and any("users" in t for t in tags)
    shot(page, "api-docs")
    assert page.problems == []
