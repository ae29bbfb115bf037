"""A legal representative picks the firm from those the registry says they represent; the read is audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.services import service
from tests.conftest import PASSWORD
from tests.services.conftest import FOOD, City
from tests.web_support import csrf, sign_in


def test_my_firms_are_the_registrys_and_the_read_is_audited(city: City) -> None:
    with city.db.transaction() as s:
        firms = service.my_firms(s, city.resident)
        assert city.firm.uscc in [f.uscc for f in firms]
        assert all(f.legal_rep_id == city.rep.id for f in firms)
        entry = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "hub.registry.legal_person.read", AuditEntry.subject == f"person:{city.rep.id}")
            .order_by(AuditEntry.seq.desc())
        ).first()
    assert entry is not None and entry.purpose and "法定代表人" in entry.purpose


def test_the_item_page_lists_my_firms_to_apply_for(city: City, client: TestClient) -> None:
    sign_in(client, "resident", PASSWORD, next_path="/services")
    page = client.get(f"/services/items/{FOOD}")
    assert 'id="apply-firm"' in page.text and f'value="{city.firm.uscc}"' in page.text and city.firm.name in page.text
    assert 'id="apply-uscc"' not in page.text  # nothing to type
    r = client.post(
        f"/services/items/{FOOD}/apply", data={"uscc": city.firm.uscc, "csrf_token": csrf(page)}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/services/cases/")
