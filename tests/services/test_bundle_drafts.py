"""A bundle's tell-once notice in the reader's words; a bundle's drafts are deleted together, not one case alone."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.errors import Conflict
from onecity.services import bundles, catalogue, service
from onecity.services.models import BundleApplication, Case, CaseStatus, Document
from tests.conftest import PASSWORD
from tests.services.conftest import PDF, City
from tests.web_support import csrf, sign_in


def _bundle(city: City) -> tuple[str, list[str]]:
    with city.db.transaction() as s:
        app = bundles.start_bundle(s, city.resident, "open-restaurant", uscc=city.firm.uscc)
        bundles.attach_document(
            s, city.resident, app.id, "floor_plan", filename="plan.pdf", content_type="application/pdf", content=PDF
        )
        _app, cases = bundles.get_bundle(s, city.resident, app.id)
        return app.id, [c.id for c in cases]


def test_the_bundles_tell_once_notice_is_in_the_readers_words(city: City, client: TestClient) -> None:
    app_id, _cases = _bundle(city)
    sign_in(client, "resident", PASSWORD, next_path="/services")
    url = f"/services/bundle-applications/{app_id}"
    page = client.get(url)
    r = client.post(url + "/submit", data={"csrf_token": csrf(page)})
    assert r.status_code == 422
    assert "一次性告知：还有" in r.text and "份材料尚未提供" in r.text
    assert "all at once" not in r.text and "required property" not in r.text  # no English on a Chinese page
    client.get("/lang/en")
    r = client.post(url + "/submit", data={"csrf_token": csrf(page)})
    assert "Told once:" in r.text and "一次性告知" not in r.text
    # the bundle's cases are listed by the items' names, not their codes
    with city.db.transaction() as s:
        codes = [c.item_code for c in bundles.get_bundle(s, city.resident, app_id)[1]]
    listed = client.get(url).text
    assert all(catalogue.item(code).name_en in listed and f"</a> {code} " not in listed for code in codes)


def test_a_bundles_drafts_are_deleted_together_and_not_one_alone(city: City, client: TestClient) -> None:
    app_id, case_ids = _bundle(city)
    sign_in(client, "resident", PASSWORD, next_path="/services")
    case_url = f"/services/cases/{case_ids[0]}"
    case_page = client.get(case_url)
    assert 'id="delete-draft"' not in case_page.text and 'id="delete-bundle-hint"' in case_page.text
    assert f"/services/bundle-applications/{app_id}#bundle-delete-form" in case_page.text
    r = client.post(case_url + "/delete", data={"csrf_token": csrf(case_page)})
    assert r.status_code == 409 and "不能单独删除" in r.text  # refused in words, nothing deleted
    with city.db.transaction() as s:
        assert s.get(Case, case_ids[0]) is not None

    url = f"/services/bundle-applications/{app_id}"
    page = client.get(url)
    assert 'id="bundle-delete"' in page.text
    r = client.post(url + "/delete", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/services?done=deleted")
    assert client.get(url).status_code == 404
    with city.db.transaction() as s:
        assert s.get(BundleApplication, app_id) is None
        assert not s.scalars(select(Case).where(Case.id.in_(case_ids))).all()
        assert not s.scalars(select(Document).where(Document.case_id.in_(case_ids))).all()
        deleted = s.scalars(select(AuditEntry).where(AuditEntry.action == "services.case.deleted")).all()
        assert {e.object_id for e in deleted} == set(case_ids)
        bundle_entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "services.bundle.deleted")).one()
        assert bundle_entry.object_id == app_id and bundle_entry.actor == city.resident.ref


def test_a_bundle_with_a_submitted_case_is_not_deleted(city: City) -> None:
    app_id, case_ids = _bundle(city)
    with city.db.transaction() as s:
        case = s.get(Case, case_ids[0])
        assert case is not None
        case.status = CaseStatus.SUBMITTED  # as if one item had gone in before the bundle's submission
    with city.db.transaction() as s, pytest.raises(Conflict, match="has submitted cases"):
        bundles.delete_drafts(s, city.resident, app_id)
    with city.db.transaction() as s:
        assert s.get(BundleApplication, app_id) is not None
        assert len(s.scalars(select(Case).where(Case.id.in_(case_ids))).all()) == len(case_ids)
        assert service.get_case(s, city.resident, case_ids[1]) is not None
