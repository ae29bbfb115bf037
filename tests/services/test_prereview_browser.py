"""The AI pre-review panel in Chromium: an officer opens a case whose application letter was forged and
sees the letter with every field read and every failed check boxed on it, in Chinese and in English.
Screenshots are kept (``services-prereview.png``, ``services-prereview-en.png``)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from onecity.services import advice
from tests.browser_support import live_server, shot
from tests.conftest import PASSWORD
from tests.services.conftest import City
from tests.services.test_prereview import _apply_at_counter, _clerk, _letter, _person

pytestmark = pytest.mark.browser


def _wait_reviewed(city: City, case_id: str, seconds: float = 120.0) -> str:
    """The outcome once the live server's consumer has pre-reviewed the case."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with city.db.sessions() as s:
            review = advice.latest(s, case_id)
            if review is not None:
                return str(review.outcome)
        time.sleep(0.2)
    pytest.fail(f"case {case_id} was not pre-reviewed in {seconds} s")


def _drawn(page: Any) -> None:
    page.wait_for_selector("canvas.svc-pr-canvas[data-drawn]", timeout=20_000)
    assert page.get_attribute("canvas.svc-pr-canvas", "data-drawn") == "1"
    # the canvas has the image's own size: the boxes are drawn in its pixels
    assert page.eval_on_selector("canvas.svc-pr-canvas", "c => [c.width, c.height]") == [1240, 1600]
    page.locator("#prereview").scroll_into_view_if_needed()


def test_an_officer_sees_the_forged_letter_boxed(sqlite_city: City, page: Any) -> None:
    city = sqlite_city
    clerk = _clerk(city)
    senior = _person(city, senior=True)
    letter = _letter(city, senior, forgery="other_holder")
    with live_server(city.db, "prereview") as server:
        case_id = _apply_at_counter(city, clerk, senior, letter)
        assert _wait_reviewed(city, case_id) == "refusal_suggested"
        target = f"/services/cases/{case_id}"
        # a case page answers a stranger 403 (it does not send them to sign in): sign in first
        page.goto(f"{server}/login?next={target}")
        page.fill("#username", "mca.clerk")
        page.fill("#password", PASSWORD)
        page.click("form.form button[type=submit]")
        page.wait_for_url(f"**{target}")
        _drawn(page)
        assert "建议不予" in page.inner_text("#prereview-outcome")
        assert page.locator("#prereview-reasons tr.svc-pr-row-fail").count() >= 2
        shot(page, "services-prereview")
        page.goto(f"{server}/lang/en?next={target}")
        page.wait_for_url(f"**{target}")
        _drawn(page)
        assert "Refusal suggested" in page.inner_text("#prereview-outcome")
        shot(page, "services-prereview-en")
        page.goto(f"{server}/lang/zh?next=/services/work")
        page.wait_for_url("**/services/work")
        row = page.locator(f"#queue tr:has(a[href='{target}#prereview'])")
        assert row.locator("[data-prereview=refusal_suggested]").count() == 1
        assert row.locator("input[data-against]").count() == 0  # accepting is not against a refusal suggestion
        assert page.locator("#queue-prereview-help").count() == 1
        shot(page, "services-prereview-queue")
    assert page.problems == []
