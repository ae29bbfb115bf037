"""The upload check in Chromium: the resident uploads the wrong document, the draft says "checking…" and then
what is wrong and what to upload instead, in each language; a field typed wrong is told beside it as typed;
submitting the flagged material asks for the tick. Screenshots are kept (both languages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from onecity.core import clock
from onecity.services import service
from onecity.synth.corpus import Generator, Roster
from tests.browser_support import live_server, shot
from tests.conftest import PASSWORD
from tests.services.conftest import City

pytestmark = pytest.mark.browser
SENIOR_CARD = "310000-20-00072-001"


def test_the_draft_shows_the_upload_check_and_checks_fields_as_typed(
    sqlite_city: City, page: Any, tmp_path: Path
) -> None:
    city = sqlite_city
    with city.db.transaction() as s:
        case_id = service.start_case(s, city.resident, SENIOR_CARD).id
        roster = Roster([], [], {})
        assert roster.add_holder(s, city.rep.id_number)
    wrong = tmp_path / "letter.png"  # the resident's ID card, where the application letter belongs
    wrong.write_bytes(
        Generator(roster, seed=5, as_of=clock.today()).sample(1, "id_card", holder=city.rep.id_number).image
    )
    with live_server(city.db, "services") as server:
        target = f"/services/cases/{case_id}"
        page.goto(f"{server}/login?next={target}")
        page.fill("#username", "resident")
        page.fill("#password", PASSWORD)
        page.click("form.form button[type=submit]")
        page.wait_for_url(f"**{target}")
        page.goto(f"{server}/lang/zh")
        page.goto(f"{server}{target}")
        row = "#case-materials li[data-material=application_letter]"
        page.set_input_files(f"{row} input[type=file]", str(wrong))
        page.click(f"{row} button[data-upload]")
        page.wait_for_load_state()
        # the upload answers at once; the result appears when the worker has read it
        page.wait_for_selector(f'{row} [data-check="flagged"]', timeout=60_000)
        problems = page.inner_text('[data-check-problems="application_letter"]')
        assert "看起来是居民身份证" in problems and "请上传申请书本身" in problems
        assert "services.check" not in problems and "wrong_type" not in problems
        assert page.locator("#confirm-flagged").count() == 1
        # a phone number typed short is told beside the field before anything is saved
        page.fill("#f-phone", "1380013")
        page.wait_for_selector('[data-field-live="phone"]')
        assert "11 位" in page.inner_text('[data-field-live="phone"]')
        shot(page, "services-upload-check-zh")
        page.fill("#f-phone", "13800138000")
        page.wait_for_selector('[data-field-live="phone"]', state="detached")
        # submitting without the tick is refused, in words, with the tick offered
        page.click("#submit-case")
        page.wait_for_load_state()
        assert page.locator("#confirm-flagged").count() == 1
        assert "仍然提交" in page.inner_text("#case-materials")
        page.goto(f"{server}/lang/en")
        page.goto(f"{server}{target}")
        problems = page.inner_text('[data-check-problems="application_letter"]')
        assert "looks like the resident ID card" in problems and "upload the application letter itself" in problems
        shot(page, "services-upload-check-en")
        page.check("#confirm-flagged")
        page.click("#submit-case")
        page.wait_for_selector(".svc-submitted")
