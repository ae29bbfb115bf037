"""The auditor's page: search by actor, action, object and time, page back, export as CSV, verify with progress."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from onecity.core.db import Database
from onecity.core.identity.models import User
from onecity.core.identity.roles import Role
from tests.web_support import sign_in

CITY = "310000000000"


def _rows(page: str) -> int:
    return page.count("<tr data-seq=")


def test_search_by_actor_action_object_and_time(client: TestClient, make_user: Callable[..., User]) -> None:
    make_user("auditor.city", Role.AUDITOR, division_code=CITY)
    clerk = make_user("clerk.one", Role.COUNTER_CLERK)
    for n in range(3):
        make_user(f"clerk.{n + 2}", Role.COUNTER_CLERK)
    sign_in(client, "auditor.city")
    everything = client.get("/audit")
    assert everything.status_code == 200 and _rows(everything.text) >= 6
    # a username finds that account's entries; the action list is in words
    page = client.get("/audit", params={"actor": "auditor.city"})
    assert _rows(page.text) == 1 and "登录" in page.text
    created = client.get("/audit", params={"action": "core.user.created"})
    assert _rows(created.text) == 5 and "创建用户" in created.text
    one = client.get("/audit", params={"object_type": "user", "object_id": clerk.id})
    assert _rows(one.text) == 1 and clerk.id in one.text
    none = client.get("/audit", params={"since": "2001-01-01", "until": "2001-01-02"})
    assert _rows(none.text) == 0 and "暂无审计记录" in none.text
    # bad input: said next to the field, in the reader's language, nothing searched on it
    bad = client.get("/audit", params={"since": "yesterday", "action": "core.nothing.done"})
    assert bad.status_code == 422
    assert 'id="since-error"' in bad.text and "请按 年-月-日 填写日期" in bad.text
    assert 'id="action-error"' in bad.text and 'aria-invalid="true"' in bad.text
    client.get("/lang/en")
    bad = client.get("/audit", params={"since": "2026-06-02", "until": "2026-06-01"})
    assert bad.status_code == 422 and "cannot be before the start date" in bad.text


def test_pages_back_fifty_at_a_time(client: TestClient, db: Database, make_user: Callable[..., User]) -> None:
    from onecity.core import audit
    from onecity.core.identity.principal import system_principal

    make_user("auditor.city", Role.AUDITOR, division_code=CITY)
    with db.transaction() as session:
        audit.record_many(
            session,
            system_principal("ops:router"),
            "hub.dataset.read",
            [audit.BatchEntry("dataset", f"d{i}", None, None, None) for i in range(70)],
        )
    sign_in(client, "auditor.city")
    first = client.get("/audit", params={"action": "hub.dataset.read"})
    assert _rows(first.text) == 50 and "城运自动派遣" in first.text and "查看数据目录" in first.text
    older = first.text.split('id="audit-older" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    second = client.get(older)
    assert _rows(second.text) == 20 and 'id="audit-older"' not in second.text


def test_export_is_csv_in_words_and_audited(client: TestClient, make_user: Callable[..., User]) -> None:
    make_user("auditor.city", Role.AUDITOR, division_code=CITY)
    make_user("clerk.a", Role.COUNTER_CLERK)
    sign_in(client, "auditor.city")
    r = client.get("/audit/export.csv", params={"action": "core.user.created"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0][:6] == ["序号", "时间", "操作人标识", "操作人", "操作代码", "操作"]
    assert len(rows) == 3 and {row[5] for row in rows[1:]} == {"创建用户"}
    page = client.get("/audit", params={"action": "core.audit.exported"})
    assert _rows(page.text) == 1 and "导出审计日志" in page.text


def test_verify_streams_progress_then_the_result(client: TestClient, make_user: Callable[..., User]) -> None:
    make_user("auditor.city", Role.AUDITOR, division_code=CITY)
    sign_in(client, "auditor.city")
    page = client.get("/audit")
    assert 'data-progress="/audit/verify/progress"' in page.text and "/static/js/audit-verify.js" in page.text
    r = client.get("/audit/verify/progress")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines[-1]["ok"] is True and "哈希链完整" in lines[-1]["message"]
    assert all(line["done"] <= line["total"] for line in lines[:-1])


def test_export_and_progress_are_for_auditors(client: TestClient, make_user: Callable[..., User]) -> None:
    make_user("admin.xh", Role.ADMIN)
    make_user("auditor.xh", Role.AUDITOR)
    sign_in(client, "admin.xh")
    assert client.get("/audit/export.csv").status_code == 403
    client.cookies.clear()
    sign_in(client, "auditor.xh")  # a district auditor: exports their area, may not walk the whole chain
    assert client.get("/audit/export.csv").status_code == 200
    assert client.get("/audit/verify/progress").status_code == 403


def test_every_kind_of_object_the_code_audits_has_words_in_both_languages() -> None:
    """An entry's ``object_type`` is shown on the audit page: a kind without words there shows a raw key."""
    import re
    from pathlib import Path

    import onecity
    from onecity.sensing.sta.entities import SETS
    from onecity.web.audit_words import OBJECTS

    root = Path(onecity.__file__).parent
    literal = re.compile(r'object_type="([a-z_.]+)"')
    kinds = {k for path in root.rglob("*.py") for k in literal.findall(path.read_text(encoding="utf-8"))}
    kinds |= {f"sensing.{s.singular.lower()}" for s in SETS.values()}  # the SensorThings entities' own
    assert len(kinds) > 30
    missing = sorted(kinds - OBJECTS.keys())
    assert not missing, f"add words for these object kinds to onecity/web/audit_words.py OBJECTS: {missing}"
    assert all(zh and en and zh != en for zh, en in OBJECTS.values())
