"""A case page in words: people and systems by name, system notes in the reader's language, the place by name."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from onecity.core import clock
from onecity.core.db import Database
from onecity.ops.pages import actor_names, step_note
from tests.ops.conftest import Ops
from tests.ops.test_loop import MONDAY_10
from tests.web_support import sign_in


def test_system_notes_in_both_languages() -> None:
    assert step_note("trusted source: hotline", "zh") == "可信来源（12345热线），直接立案"
    assert step_note("trusted source: hotline", "en") == "Trusted source (12345 hotline): registered at once"
    assert "按派遣规则派至" in step_note("routing rule: sanitation", "zh")
    assert step_note("dispose overdue since 2026-06-01 14:00", "en") == "Disposal overdue (due 2026-06-01 14:00)"
    assert step_note("hotline: 又堆起来了", "zh") == "12345热线再次上报：又堆起来了"
    assert step_note("已清运完毕", "en") == "已清运完毕"  # a person's own words are kept as written
    assert step_note(None, "zh") == ""


def test_case_page_names_people_systems_and_place(client: TestClient, staff_users: Callable[..., Ops]) -> None:
    ops = staff_users("hotline", "xh.operator")
    with clock.frozen(MONDAY_10):
        cid = ops.hotline_rubbish()
        sign_in(client, "xh.operator")
        page = client.get(f"/ops/cases/{cid}").text
        client.get("/lang/en")
        english = client.get(f"/ops/cases/{cid}").text
    assert "user:" not in page and "system:ops" not in page
    assert "自动派遣" in page and "hotline" in page  # the router by its job; the call-taker by their name
    assert "可信来源（12345热线），直接立案" in page and "trusted source" not in page
    assert "天平路街道" in page
    page = english
    assert "Automatic dispatch" in page and "Trusted source (12345 hotline)" in page
    assert "Tianpinglu" in page


def test_no_empty_action_card(client: TestClient, staff_users: Callable[..., Ops]) -> None:
    ops = staff_users("hotline", "tp.inspector")
    with clock.frozen(MONDAY_10):
        cid = ops.hotline_rubbish()
        sign_in(client, "tp.inspector")  # dispatched to a unit: nothing for the inspector to do now
        page = client.get(f"/ops/cases/{cid}").text
    assert 'id="act-title"' not in page


def test_the_demos_simulated_staff_and_systems_are_named(db: Database) -> None:
    refs = {"user:sim:hotline", "user:sim:inspector-310104003000", "user:sim:unit-15b2c063", "system:sim:cameras"}
    with db.sessions() as session:
        zh, en = actor_names(session, refs, "zh"), actor_names(session, refs, "en")
    assert zh["user:sim:hotline"] == "模拟 12345 话务员" and zh["user:sim:inspector-310104003000"] == "模拟网格监督员"
    assert en["user:sim:unit-15b2c063"] == "Simulated disposal unit staff"
    assert en["system:sim:cameras"] == "Simulated camera recognition"
    assert "未知" not in "".join(zh.values()) and "sim:" not in "".join(zh.values()) + "".join(en.values())
