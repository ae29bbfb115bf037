"""The pages without a browser: what a verifier sees of a person (masked), errors as pages, the holder's QR."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import segno  # noqa: F401  (the QR maker the pages use must be installed)
from fastapi.testclient import TestClient

from onecity.core.identity.roles import PrincipalKind
from onecity.credentials import service
from onecity.hub.registries.models import Certificate
from onecity.hub.sharing.service import link_resident
from tests.conftest import SYSTEM
from tests.credentials.conftest import APPROVER, Registry
from tests.web_support import csrf, sign_in


def test_verify_page_masks_a_person_and_pages_answer_errors_in_html(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    make_user: Callable[..., Any],
) -> None:
    cert = make_certificate("driving_licence", holder="person")
    with registry_db.db.transaction() as s:
        cred = service.issue_for_certificate(s, APPROVER, cert.id)
    page = client.get(f"/verify/{cred.id}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-valid="true"' in page.text and "王**" in page.text
    person = registry_db.person
    assert "王小梅" not in page.text and person.id_number not in page.text
    assert person.id_number[:6] + "********" + person.id_number[-4:] in page.text
    assert page.headers["cache-control"] == "no-store"
    # the pasted JWT through the form's GET
    assert 'data-status="active"' in client.get("/verify", params={"c": cred.jwt}).text
    wrapped = "\n".join(cred.jwt[i : i + 76] for i in range(0, len(cred.jwt), 76))  # pasted from a printout
    assert 'data-valid="true"' in client.get("/verify", params={"c": f"  {wrapped}\n"}).text
    assert "不是可读取的证照凭证" in client.get("/verify", params={"c": "nonsense"}).text
    posted = client.post("/verify", data={"c": cred.jwt})  # the form posts, keeping the JWT out of URLs
    assert posted.status_code == 200 and 'data-valid="true"' in posted.text
    # a bad link is a page, not JSON
    missing = client.get("/verify/5b1c2c2e-0000-4000-8000-000000000000", headers={"accept": "text/html"})
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert client.get("/verify/not-a-uuid").status_code == 404

    # the holder's page and QR code need the holder; someone else gets a 403 page
    make_user("xiaomei", kind=PrincipalKind.CITIZEN, division_code=None)
    make_user("stranger", kind=PrincipalKind.CITIZEN, division_code=None)
    with registry_db.db.transaction() as s:
        link_resident(s, SYSTEM, username="xiaomei", id_number=person.id_number)
    assert client.get(f"/credentials/{cred.id}", follow_redirects=False).status_code == 303  # sign in first
    client.cookies.clear()
    sign_in(client, "stranger")
    assert client.get(f"/credentials/{cred.id}").status_code == 403
    assert client.get(f"/credentials/{cred.id}/qr.svg").status_code == 403
    client.cookies.clear()
    sign_in(client, "xiaomei")
    mine = client.get("/credentials")
    assert f"/credentials/{cred.id}" in mine.text
    detail = client.get(f"/credentials/{cred.id}")
    assert detail.status_code == 200 and "王小梅" in detail.text and cred.jwt in detail.text
    qr = client.get(f"/credentials/{cred.id}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in qr.text
    assert client.get(f"/credentials/{cred.id}/qr.svg?kind=bogus").status_code == 422
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200 and jwks.json()["keys"][0]["kid"] == cred.kid


def test_an_officer_changes_the_status_from_the_credential_page(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    make_user: Callable[..., Any],
) -> None:
    from onecity.core.identity.roles import Role
    from tests.conftest import TIANPINGLU

    with registry_db.db.transaction() as s:
        cred = service.issue_for_certificate(s, APPROVER, make_certificate().id)
    make_user("xh.clerk", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    make_user("xh.approver", Role.APPROVER, division_code=TIANPINGLU)
    client.cookies.clear()
    sign_in(client, "xh.clerk")
    page = client.get(f"/credentials/{cred.id}")
    assert page.status_code == 200 and 'id="staff-actions"' not in page.text  # a clerk may read, not act
    client.cookies.clear()
    sign_in(client, "xh.approver")
    page = client.get(f"/credentials/{cred.id}")
    assert 'id="to-suspended"' in page.text and 'id="to-revoked"' in page.text and 'id="to-active"' not in page.text
    token = csrf(page)
    url = f"/credentials/{cred.id}/status"
    r = client.post(url, data={"status": "suspended", "reason": "", "csrf_token": token})
    assert r.status_code == 422 and 'id="status-error"' in r.text  # the reason is required, nothing saved
    assert client.post(url, data={"status": "suspended", "reason": "x"}).status_code == 403  # no CSRF token
    r = client.post(
        url, data={"status": "suspended", "reason": "卫生检查", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get(f"/credentials/{cred.id}")
    assert 'id="to-active"' in page.text and "已暂停" in page.text
    # a second suspension (a stale page) is a conflict, said in the reader's words, nothing saved
    r = client.post(url, data={"status": "suspended", "reason": "再次", "csrf_token": token})
    assert r.status_code == 409 and "当前为「已暂停」，此操作只能在「有效」时进行" in r.text
    client.post(url, data={"status": "revoked", "reason": "停业", "csrf_token": token})
    with registry_db.db.sessions() as s:
        status = service.verify(s, cred.jwt).status
        assert status is not None
        assert status.value == "revoked"
    assert 'id="staff-actions"' not in client.get(f"/credentials/{cred.id}").text  # revocation is final


def test_verify_page_masks_a_certificate_numbered_with_the_holders_id_number(
    client: TestClient, registry_db: Registry
) -> None:
    """A driving licence's number is the holder's ID number: masking the holder and printing the
    number whole gave the ID number away on the public page (issue 12, point 5)."""
    from datetime import date

    from onecity.hub.registries import service as registry
    from onecity.hub.registries.models import HolderKind
    from tests.credentials.conftest import PERSON_ID

    person = registry_db.person
    with registry_db.db.transaction() as s:
        cert = registry.issue_certificate(
            s,
            APPROVER,
            type_code="driving_licence",
            holder_kind=HolderKind.PERSON,
            holder_id=PERSON_ID,
            number=person.id_number,
            issuer="上海市公安局交通警察总队",
            issued_on=date(2026, 3, 2),
            valid_until=None,
            data={},
        )
    with registry_db.db.transaction() as s:
        cred = service.issue_for_certificate(s, APPROVER, cert.id)
    masked = person.id_number[:6] + "********" + person.id_number[-4:]
    for page in (client.get(f"/verify/{cred.id}"), client.get("/verify", params={"c": cred.jwt})):
        assert page.status_code == 200 and 'data-valid="true"' in page.text
        assert person.id_number not in page.text
        assert page.text.count(masked) == 2  # the holder's identifier and the certificate number, alike
    assert service.mask_number(f"A-{person.id_number}-2", "", "person") == f"A-{masked}-2"
    assert service.mask_number("JY33101040000001", person.id_number, "person") == "JY33101040000001"
    assert service.mask_number(person.id_number, person.id_number, "legal_person") == person.id_number
