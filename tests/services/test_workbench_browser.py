"""The workbench in Chromium, in Chinese and English: the queue found by applicant, a task claimed,
every upload linked on the task's page, a decision asked once more, and the administrator's account
page with a one-time password. Screenshots are kept (``test-output/``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from onecity.core.identity import service as identity
from onecity.core.identity.models import User
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.services import service
from onecity.services.models import Case
from tests.browser_support import live_server, shot
from tests.conftest import PASSWORD, SYSTEM
from tests.services.conftest import XUHUI, City, food_case_ready

pytestmark = pytest.mark.browser


def _sign_in(page: Any, server: str, username: str, target: str, lang: str = "zh") -> None:
    page.context.clear_cookies()
    page.goto(f"{server}/lang/{lang}?next=/login?next={target}")
    page.goto(f"{server}/login?next={target}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"**{target}")


def test_queue_task_and_account_pages_in_both_languages(sqlite_city: City, page: Any) -> None:
    city = sqlite_city
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
        case = s.get(Case, case_id)
        assert case is not None
        number, name = case.number, case.applicant_name
        identity.create_user(
            s,
            SYSTEM,
            username="xh.admin",
            password=PASSWORD,
            kind=PrincipalKind.STAFF,
            roles=[Role.ADMIN, Role.COUNTER_CLERK, Role.REVIEWER, Role.APPROVER],
            agency_code="xh-samr",
            division_code=XUHUI,
        )
    with live_server(city.db, "workbench") as server:
        for lang in ("zh", "en"):
            _sign_in(page, server, "clerk", "/services/work", lang)
            assert (page.get_attribute("html", "lang") or "").startswith(lang)
            page.fill("#queue-q", name)
            page.click("#queue-search button[type=submit]")
            row = page.locator(f"#queue tr[data-case='{number}']")
            row.wait_for()
            shot(page, f"services-queue-{lang}")
            if lang == "zh":
                row.locator("button[data-claim]").click()
                page.wait_for_load_state()
                assert page.locator(f"#queue tr[data-case='{number}'] [data-assignee=me]").count() == 1
            row.locator("a.button-primary").click()
            page.wait_for_selector("#case-documents-table")
            assert page.locator("#case-documents-table a.svc-doc-link").count() >= 1
            # the administrator holds the clerk's role in the same bureau: a colleague to hand it to
            assert page.locator("#reassign-to option").count() == 2
            shot(page, f"services-task-{lang}")
        # the decision: reviewed by the administrator (who holds every role), then asked once more
        with city.db.transaction() as s:
            (accept,) = [w.id for w, c in service.work_queue(s, city.clerk) if c.id == case_id]
            service.complete_task(s, city.clerk, accept, "accept")
            (review,) = [w.id for w, c in service.work_queue(s, city.reviewer) if c.id == case_id]
            service.complete_task(s, city.reviewer, review, "pass")
        for lang in ("en", "zh"):
            _sign_in(page, server, "approver", "/services/work", lang)
            page.locator(f"#queue tr[data-case='{number}'] a.button-primary").click()
            page.click("#task-decision button[data-outcome=approve]")
            page.wait_for_selector("#confirm-panel")
            assert number in page.inner_text("#confirm-panel")
            shot(page, f"services-decision-confirm-{lang}")
        page.click("#confirm-decision")
        page.wait_for_selector("#work-notice")
        with city.db.sessions() as s:
            assert s.get_one(Case, case_id).status == "approved"
            clerk_id = s.scalar(select(User.id).where(User.username == "clerk"))
        for lang in ("zh", "en"):
            _sign_in(page, server, "xh.admin", f"/admin/users/{clerk_id}", lang)
            page.click("#password-submit")
            page.wait_for_selector("#temporary-password")
            assert len(page.inner_text("#temporary-password").strip()) == 19
            shot(page, f"admin-user-reset-{lang}")
    assert page.problems == []
