"""The main flow in Chromium: a resident applies with a prefilled form, officers decide on the workbench,
the resident finds the credential and rates; the counter and the public performance page. Screenshots are kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import live_server, shot
from tests.conftest import PASSWORD
from tests.services.conftest import PDF, City

#: A material still to upload (an uploaded one keeps its form, to replace it).
MISSING = "#case-materials li:has(span.svc-missing)"
pytestmark = pytest.mark.browser
FOOD = "310000-01-00040-001"


def _sign_in(page: Any, server: str, username: str, target: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{server}/login?next={target}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"**{target}")


def test_apply_decide_rate_in_the_browser(sqlite_city: City, page: Any, tmp_path: Path) -> None:
    city = sqlite_city
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(PDF)
    with live_server(city.db, "services") as server:
        _sign_in(page, server, "resident", "/services")
        page.fill("#svc-search", "食品经营")
        page.click("form[role=search] button")
        page.click(f"a[href='/services/items/{FOOD}']")
        materials = page.inner_text("#item-materials")
        assert "营业执照（电子证照）" in materials and "cert:" not in materials  # the e-licence by its name
        page.select_option("#apply-firm", city.firm.uscc)  # one of "my firms"
        page.click("#apply")
        page.wait_for_url("**/services/cases/*")
        assert page.input_value("#f-uscc") == city.firm.uscc
        assert "法人登记·统一社会信用代码" in page.inner_text("#case-form")  # the prefill source, in words
        notice = page.inner_text("#missing-notice")
        assert "营业执照" not in notice and "平面布局图" in notice
        shot(page, "services-case-draft")
        while page.locator(MISSING + " input[type=file]").count():
            page.locator(MISSING + " input[type=file]").first.set_input_files(str(scan))
            page.locator(MISSING + " form[enctype] button").first.click()
            page.wait_for_load_state()
        page.select_option("#f-business_items", "热食类食品制售")
        page.fill("#f-floor_area_m2", "85")
        page.click("#save-form")
        page.click("#submit-case")
        page.wait_for_selector(".svc-submitted")
        for user, outcome in (("clerk", "accept"), ("reviewer", "pass"), ("approver", "approve")):
            _sign_in(page, server, user, "/services/work")
            if user == "clerk":
                shot(page, "services-workbench")
            page.click("#queue tr a.button-primary")
            page.click(f"#task-decision button[data-outcome={outcome}]")
            page.wait_for_load_state()
            if outcome == "approve":
                shot(page, "services-decision-confirm")
                page.click("#confirm-decision")
                page.wait_for_load_state()
        _sign_in(page, server, "resident", "/services")
        page.click("#my-cases a.code")
        assert page.locator("#credential-link").count() == 1
        page.select_option("#rate-stars", "5")
        page.click("#rate-form button")
        page.wait_for_selector("#rated")
        shot(page, "services-case-approved")
        page.click("#credential-link")
        page.wait_for_url("**/credentials/*")
        _sign_in(page, server, "clerk", "/services/counter")
        page.fill("#counter-id", city.rep.id_number)
        page.click("form[action='/services/counter'] button")
        assert page.locator("#counter-cases li").count() == 1
        page.select_option("#counter-item", "310000-20-00081-001")
        page.check("#counter-checked")
        page.click("#counter-start")
        page.wait_for_url("**/services/cases/*")
        assert "窗口" in page.inner_text("#case-history")
        shot(page, "services-counter-case")
        page.goto(f"{server}/services/performance?by=item")
        page.wait_for_selector("#perf-chart canvas")
        assert "100.0%" in page.inner_text("#perf-table")
        shot(page, "services-performance")
    assert page.problems == []


def test_a_resident_is_told_what_is_wrong_beside_each_field_in_both_languages(
    sqlite_city: City, page: Any, tmp_path: Path
) -> None:
    city = sqlite_city
    renamed = tmp_path / "licence.png"
    renamed.write_bytes(b"MZ\x90\x00 a program, renamed")
    with live_server(city.db, "services") as server:
        _sign_in(page, server, "resident", f"/services/items/{FOOD}")
        assert city.firm.name in page.inner_text("#apply-firm")  # "my firms": nothing to type
        shot(page, "services-item-my-firms")
        page.click("#apply")
        page.wait_for_url("**/services/cases/*")
        case_url = page.url
        for lang, words in (("zh", "不是 PDF、JPEG 或 PNG 文件"), ("en", "is not a PDF, JPEG or PNG file")):
            page.goto(f"{server}/lang/{lang}?next={case_url.split(server, 1)[1]}")
            page.locator(MISSING + " input[type=file]").first.set_input_files(str(renamed))
            page.locator(MISSING + " form[enctype] button").first.click()
            page.wait_for_load_state()
            assert words in page.inner_text("[role=alert]")
            page.fill("#f-premises_address", "徐汇区漕溪北路" * 40)
            page.fill("#f-seats", "-5")
            page.click("#save-form")
            page.wait_for_load_state()
            assert page.locator("[data-field-error=premises_address]").is_visible()
            assert page.locator("#f-premises_address").get_attribute("aria-invalid") == "true"
            # the input spans its column: a long address is read whole
            assert page.locator("#f-premises_address").bounding_box()["width"] > 300
            shot(page, f"services-case-field-errors-{lang}")
        page.goto(case_url)
        page.click("#delete-draft")
        page.wait_for_selector("#done")
        shot(page, "services-draft-deleted")
