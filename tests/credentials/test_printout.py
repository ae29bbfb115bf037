"""A certificate's printable PDF: its text layer, its embedded face, its QR code scanned back, who may have it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pypdfium2 as pdfium
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.credentials import printout, service
from onecity.credentials.api import verify_url
from onecity.hub.registries import relations
from onecity.hub.registries.identifiers import make_resident_id
from onecity.hub.registries.models import Certificate, Person, RelationKind
from onecity.hub.sharing.service import link_resident
from tests.conftest import OUTPUT, SYSTEM, TIANPINGLU
from tests.credentials.conftest import APPROVER, HUANGPU, PERSON_ID, Registry
from tests.qr_support import read_qr
from tests.web_support import sign_in


def read_pdf(body: bytes) -> tuple[str, str | None]:
    """The PDF's text layer and what a QR decoder reads from its page (:func:`tests.qr_support.read_qr`)."""
    doc = pdfium.PdfDocument(body)
    assert len(doc) == 1
    page = doc[0]
    return page.get_textpage().get_text_range(), read_qr(page)


def downloads(db: Any) -> list[AuditEntry]:
    with db.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "credentials.credential.printed")))


def test_the_holder_downloads_a_pdf_whose_text_and_qr_code_verify(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    make_user: Callable[..., Any],
    tmp_path: Any,
) -> None:
    with registry_db.db.transaction() as s:
        cred = service.issue_for_certificate(s, APPROVER, make_certificate().id)
    make_user("xiaomei", kind=PrincipalKind.CITIZEN, division_code=None)
    with registry_db.db.transaction() as s:
        link_resident(s, SYSTEM, username="xiaomei", id_number=registry_db.person.id_number)
    url = f"/credentials/{cred.id}/certificate.pdf"
    assert client.get(url, follow_redirects=False).status_code == 303  # sign in first
    sign_in(client, "xiaomei")
    assert url in client.get("/credentials").text and url in client.get(f"/credentials/{cred.id}").text

    r = client.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="certificate-{cred.id}.pdf"'
    assert b"/FontFile2" in r.content  # the face is embedded: it prints the same on any machine
    # ... cut to the characters shown: the whole face would add 2.3 MB to every printout
    assert len(r.content) < 200_000, f"{len(r.content):,} bytes: is the face embedded whole again?"
    text, qr = read_pdf(r.content)
    firm = registry_db.firm
    for expected in (
        "食品经营许可证",
        firm.name,
        firm.uscc,
        "JY331010400000001",
        "经营项目",
        "热食类食品制售",
        "经营场所",
        "徐汇区市场监督管理局",
        "2026-03-02",
        "扫码核验",
        cred.id,
    ):
        assert expected in text, expected
    assert "Food business licence" not in text  # a Chinese reader's printout is in Chinese
    # the QR code opens the public check of this credential, which says it is valid
    assert qr == verify_url(cred.id)
    check = client.get(urlsplit(qr).path)
    assert check.status_code == 200 and 'data-valid="true"' in check.text

    # an English reader's printout has both languages
    client.cookies.set("lang", "en")
    text, qr = read_pdf(client.get(url).content)
    for expected in ("食品经营许可证", "Food business licence", "持证主体 Holder", "经营项目 Business items"):
        assert expected in text, expected
    assert qr == verify_url(cred.id)
    (tmp_path / "certificate.pdf").write_bytes(r.content)

    # a suspended certificate's printout says so (and its QR code's check says so too)
    with registry_db.db.transaction() as s:
        service.change_status(s, APPROVER, cred.id, "suspended", "卫生检查")
    client.cookies.set("lang", "zh")
    text, _ = read_pdf(client.get(url).content)
    assert "本证照已被颁发机构暂停" in text

    entries = downloads(registry_db.db)
    assert len(entries) == 3 and {e.detail["as"] for e in entries} == {"holder"}


def test_only_the_holder_a_proven_proxy_and_officers_of_the_area_may_download(
    client: TestClient,
    registry_db: Registry,
    make_certificate: Callable[..., Certificate],
    make_user: Callable[..., Any],
) -> None:
    with registry_db.db.transaction() as s:
        cred = service.issue_for_certificate(s, APPROVER, make_certificate("driving_licence", holder="person").id)
        relative = Person(
            id=PERSON_ID + 1,
            id_number=make_resident_id("310104", date(1960, 6, 1), 31),
            name="王大海",
            sex="M",
            birth_date=date(1960, 6, 1),
            hukou_region="310104",
            division_code=TIANPINGLU,
            address="天平路 1 号",
            phone=None,
        )
        s.add(relative)
    make_user("relative", kind=PrincipalKind.CITIZEN, division_code=None)
    make_user("stranger", kind=PrincipalKind.CITIZEN, division_code=None)
    make_user("xh.clerk", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    make_user("hp.clerk", Role.COUNTER_CLERK, division_code=HUANGPU)
    with registry_db.db.transaction() as s:
        link_resident(s, SYSTEM, username="relative", id_number=relative.id_number)
    url = f"/credentials/{cred.id}/certificate.pdf"

    for who in ("stranger", "relative", "hp.clerk"):
        client.cookies.clear()
        sign_in(client, who)
        assert client.get(url).status_code == 403, who
    assert downloads(registry_db.db) == []

    # a household member the registry records may act for her: the printout is theirs to download
    with registry_db.db.transaction() as s:
        relations.record_relation(
            s, SYSTEM, person_id=PERSON_ID, relative_id=relative.id, kind=RelationKind.HOUSEHOLD, source="户籍登记"
        )
    client.cookies.clear()
    sign_in(client, "relative")
    r = client.get(url)
    assert r.status_code == 200
    text, _ = read_pdf(r.content)
    assert "王小梅" in text and registry_db.person.id_number in text  # the holder's own printout: unmasked

    client.cookies.clear()
    sign_in(client, "xh.clerk")
    assert client.get(url).status_code == 200
    entries = downloads(registry_db.db)
    assert sorted(e.detail["as"] for e in entries) == ["proxy", "staff"]
    assert all(e.subject == f"person:{PERSON_ID}" for e in entries)


def test_long_fields_are_set_smaller_and_keep_clear_of_the_qr_code() -> None:
    items = "热食类食品制售、冷食类食品制售、生食类食品制售、糕点类食品制售（不含裱花蛋糕）、自制饮品制售；" * 12
    lines = [printout.Line(f"字段{i}", items if i == 3 else f"值 {i}") for i in range(8)]
    link = "http://127.0.0.1:8000/verify/5b1c2c2e-0000-4000-8000-000000000000"
    body = printout.render(
        printout.Printout(
            title="食品经营许可证",
            subtitle="Food business licence",
            lines=lines,
            issuer="徐汇区市场监督管理局",
            verify_link=link,
            status_note="",
            scan_hint="扫码核验真伪与状态",
            footer=["本打印件由电子证照生成。"],
        )
    )
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "screenshots" / "credentials-printout-long.png"
    pdfium.PdfDocument(body)[0].render(scale=1.5).to_pil().save(shot)
    text, qr = read_pdf(body)
    assert qr == link  # nothing was drawn over the code
    assert "".join(text.split()).count("自制饮品制售；") == 12  # the whole value, wrapped, none of it cut
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    pdfium.PdfDocument(body)[0].render(scale=1.5).to_pil().save(
        OUTPUT / "screenshots" / "credentials-printout-long.png"
    )
