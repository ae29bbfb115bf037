"""The officer's task page in Chromium, in Chinese and English: a forged letter the applicant replaced
before submitting is there, with what failed and a link that opens it. Screenshots are kept (``test-output/``)."""

from __future__ import annotations

from typing import Any

import pytest

from onecity.core.bus import consumers
from onecity.core.identity.roles import Role
from onecity.services import service
from tests.browser_support import live_server, shot
from tests.conftest import PASSWORD
from tests.services.conftest import SENIOR_CARD, XUHUI, City, checked, printed, staff, upload

pytestmark = pytest.mark.browser


def test_the_task_page_shows_the_kept_forgery_in_both_languages(sqlite_city: City, page: Any) -> None:
    city = sqlite_city
    with city.db.transaction() as s:
        case_id = service.start_case(s, city.resident, SENIOR_CARD).id
        clerk = staff(s, "mca.clerk", "sh-mca", XUHUI, Role.COUNTER_CLERK)
    forged_id = upload(city, city.resident, case_id, printed(city, city.rep.id_number, forgery="bad_check_digit"))
    assert checked(city, case_id).get("authenticity")
    upload(city, city.resident, case_id, printed(city, city.rep.id_number))
    assert checked(city, case_id)["status"] == "ok"
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    consumers.deliver_pending(city.db)  # the pre-review
    with city.db.transaction() as s:
        (task,) = [w.id for w, c in service.work_queue(s, clerk) if c.id == case_id]
    with live_server(city.db, "kept") as server:
        for lang in ("zh", "en"):
            page.context.clear_cookies()
            target = f"/services/work/{task}"
            page.goto(f"{server}/lang/{lang}?next=/login?next={target}")
            page.fill("#username", "mca.clerk")
            page.fill("#password", PASSWORD)
            page.click("form.form button[type=submit]")
            page.wait_for_url(f"**{target}")
            section = page.locator("#kept-uploads")
            section.wait_for()
            assert section.locator(f"tr[data-kept='{forged_id}'] a.svc-doc-link").count() == 1
            words = "证件号码或信用代码校验位不符" if lang == "zh" else "fails its check character"
            assert words in section.inner_text()
            section.scroll_into_view_if_needed()
            shot(page, f"services-kept-upload-{lang}")
            href = section.locator("a.svc-doc-link").get_attribute("href")
            opened = page.request.get(server + str(href))
            assert opened.status == 200 and opened.headers["content-type"] == "image/png"
