"""The policy supermarket: public, in both languages, filtered; and in headless Chromium (screenshots)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from onecity.benefits.catalogue import POLICIES
from onecity.core.db import Database
from tests.browser_support import live_server, shot


def test_supermarket_lists_every_policy_with_its_rule_in_both_languages(client: TestClient) -> None:
    r = client.get("/benefits")
    assert r.status_code == 200
    assert "政策超市" in r.text and "老年综合津贴" in r.text and "本市户籍，年满65周岁" in r.text
    assert all(f'id="policy-{p.code}"' in r.text for p in POLICIES)
    client.get("/lang/en")
    r = client.get("/benefits", params={"subject": "legal_person", "department": "fgw"})
    assert r.status_code == 200 and "Policy supermarket" in r.text
    assert "Energy-saving stove rebate" in r.text and "Old-age allowance" not in r.text
    assert r.text.count('id="policy-') == 2
    assert "a valid food business licence" in r.text and "accommodation and catering" in r.text
    rural = client.get("/benefits", params={"department": "mzj"}).text
    assert "living in Chongming" in rural and "310151" not in rural
    assert client.get("/benefits", params={"department": "x" * 50}).status_code == 422


@pytest.mark.browser
def test_supermarket_in_the_browser(sqlite_template: Path, tmp_path: Path, page: Any) -> None:
    path = tmp_path / "onecity.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    with live_server(db, "benefits-browser") as base:
        page.goto(f"{base}/benefits")
        assert page.locator("#policy-old_age_allowance").is_visible()
        shot(page, "benefits-supermarket-zh")
        page.goto(f"{base}/lang/en")
        page.goto(f"{base}/benefits?subject=legal_person")
        assert page.locator("h1").inner_text() == "Policy supermarket"
        assert page.locator("#policies tbody tr").count() == sum(p.subject.value == "legal_person" for p in POLICIES)
        shot(page, "benefits-supermarket-en")
    db.dispose()
