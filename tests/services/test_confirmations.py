"""A save, an upload, a submission is confirmed on the page it comes back to; a draft is deleted, not only withdrawn."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.errors import Conflict, PermissionDenied
from onecity.services import service
from onecity.services.models import Case, CaseEvent, Document
from tests.conftest import PASSWORD
from tests.services.conftest import City, food_case_ready
from tests.web_support import csrf, sign_in


def test_each_action_is_confirmed_in_the_readers_language(city: City, client: TestClient) -> None:
    case_id = food_case_ready(city)
    sign_in(client, "resident", PASSWORD, next_path="/services")
    url = f"/services/cases/{case_id}"
    r = client.post(url + "/form", data={"f.seats": "40", "csrf_token": csrf(client.get(url))}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=saved")
    assert "已保存申请表" in client.get(r.headers["location"]).text
    client.get("/lang/en")
    assert "The form is saved" in client.get(r.headers["location"]).text
    assert 'id="done"' not in client.get(url + "?done=<b>x</b>").text  # only known confirmations are shown
    page = client.get(url)
    assert 'id="delete-draft"' in page.text
    r = client.post(url + "/submit", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert r.headers["location"].endswith("?done=submitted")
    after = client.get(r.headers["location"]).text
    assert "Your application is submitted" in after and 'id="delete-draft"' not in after


def test_a_draft_is_deleted_with_its_uploads_and_history_and_the_deletion_audited(
    city: City, client: TestClient
) -> None:
    case_id = food_case_ready(city)
    sign_in(client, "resident", PASSWORD, next_path="/services")
    url = f"/services/cases/{case_id}"
    r = client.post(url + "/delete", data={"csrf_token": csrf(client.get(url))}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/services?done=deleted")
    assert "草稿已删除" in client.get(r.headers["location"]).text
    assert client.get(url).status_code == 404
    with city.db.transaction() as s:
        assert s.get(Case, case_id) is None
        assert not s.scalars(select(Document).where(Document.case_id == case_id)).all()
        assert not s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)).all()
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "services.case.deleted", AuditEntry.object_id == case_id)
        ).one()
        assert entry.actor == city.resident.ref


def test_only_a_draft_is_deleted(city: City) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    with city.db.transaction() as s, pytest.raises(Conflict) as caught:
        service.delete_draft(s, city.resident, case_id)
    assert caught.value.words is not None and caught.value.words.key == "services.case.delete_not_draft"
    other = food_case_ready(city)
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        service.delete_draft(s, dataclasses.replace(city.resident, id="someone-else"), other)  # not linked
    with city.db.transaction() as s:
        assert s.get(Case, other) is not None
