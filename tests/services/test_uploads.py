"""Uploads checked by their content, viewed by whoever may read the case (audited), replaced and removed in a draft."""

from __future__ import annotations

import dataclasses
import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from onecity.services import service, uploads
from onecity.services.models import Document
from onecity.synth.corpus.pdf import scan_pdf
from tests.conftest import PASSWORD
from tests.services.conftest import PDF, City, food_case_ready
from tests.web_support import csrf, sign_in


def _inked(size: tuple[int, int]) -> Image.Image:
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).rectangle((10, 10, size[0] // 2, size[1] // 2), fill="black")
    return img


def _png(size: tuple[int, int] = (120, 80)) -> bytes:
    buf = io.BytesIO()
    _inked(size).save(buf, "PNG")
    return buf.getvalue()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    _inked((120, 80)).save(buf, "JPEG")
    return buf.getvalue()


def _blank_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(buf, "PNG")
    return buf.getvalue()


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200


def test_the_content_says_what_a_file_is() -> None:
    assert uploads.checked("scan.pdf", PDF) == "application/pdf"
    assert uploads.checked("photo.jpg", _jpeg()) == "image/jpeg"
    # the content decides, not the name
    assert uploads.checked("photo.pdf", _png()) == "image/png"
    refusals = {
        "notes.png": b"just some text, renamed",
        "setup.png": ELF,
        "half.png": _png()[:60],  # PNG's first bytes, then nothing
        "fake.pdf": b"%PDF-1.4 not really\n",
        "empty.png": b"",
    }
    for name, content in refusals.items():
        with pytest.raises(InvalidInput) as caught:
            uploads.checked(name, content)
        assert caught.value.words is not None and caught.value.words.values.get("name") == name
    with pytest.raises(InvalidInput) as caught:
        uploads.checked("big.pdf", b"%PDF-" + b"0" * uploads.MAX_BYTES)
    assert caught.value.words is not None and caught.value.words.key == "services.upload.too_big"
    # a blank page is refused as it arrives, in words, before the applicant submits it
    for name, content in (("blank.pdf", scan_pdf([Image.new("L", (340, 480), 255)])), ("white.png", _blank_png())):
        with pytest.raises(InvalidInput) as caught:
            uploads.checked(name, content)
        assert caught.value.words is not None and caught.value.words.key == "services.upload.blank"
    # a faint but real scan is not blank
    faint = Image.new("L", (340, 480), 250)
    ImageDraw.Draw(faint).line((30, 100, 300, 100), fill=90, width=2)
    assert uploads.checked("faint.pdf", scan_pdf([faint])) == "application/pdf"
    many = scan_pdf([Image.new("L", (60, 80), 255)] * (uploads.MAX_PAGES + 1))
    with pytest.raises(InvalidInput) as caught:
        uploads.checked("long.pdf", many)
    assert caught.value.words is not None and caught.value.words.values["pages"] == str(uploads.MAX_PAGES + 1)


def test_an_upload_is_replaced_and_removed_in_a_draft_only(city: City) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        case = service.get_case(s, city.resident, case_id)
        code = next(m["code"] for m in case.materials if m["state"] == "uploaded")
        first = next(m["ref"] for m in case.materials if m["code"] == code)
        # a program renamed .png is refused, and the earlier upload stays
        with pytest.raises(InvalidInput):
            service.attach_document(
                s, city.resident, case_id, code, filename="x.png", content_type="image/png", content=ELF
            )
        doc = service.attach_document(
            s, city.resident, case_id, code, filename="again.jpg", content_type="application/pdf", content=_jpeg()
        )
        assert doc.content_type == "image/jpeg"  # what the content is, not what the browser claimed
    with city.db.transaction() as s:
        assert s.get(Document, first) is None  # nobody else saw the draft's first upload: it is gone
        case = service.remove_document(s, city.resident, case_id, code)
        assert next(m for m in case.materials if m["code"] == code)["state"] == "missing"
        assert s.get(Document, doc.id) is None
        history = [e.action for e in service.history(s, case)]
        assert "material_replaced" in history and history[-1] == "material_removed"
        with pytest.raises(NotFound):
            service.remove_document(s, city.resident, case_id, code)  # nothing left to remove
        service.attach_document(
            s, city.resident, case_id, code, filename="back.pdf", content_type="application/pdf", content=PDF
        )
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    with city.db.transaction() as s, pytest.raises(Conflict) as caught:
        service.remove_document(s, city.resident, case_id, code)
    assert caught.value.words is not None and caught.value.words.key == "services.upload.not_draft"


def test_an_upload_is_read_by_its_applicant_and_the_officers_of_its_area_and_each_read_is_audited(
    city: City,
) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        case = service.get_case(s, city.resident, case_id)
        ref = next(m["ref"] for m in case.materials if m["state"] == "uploaded")
        assert service.read_document(s, city.resident, case_id, ref).content == PDF
        assert service.read_document(s, city.reviewer, case_id, ref).content == PDF
    stranger = dataclasses.replace(city.resident, id="someone-else")
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        service.read_document(s, stranger, case_id, ref)
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        service.read_document(s, city.huangpu_clerk, case_id, ref)  # another district's officer
    with city.db.transaction() as s:
        reads = s.scalars(
            select(AuditEntry.actor).where(
                AuditEntry.action == "services.case.document_read", AuditEntry.object_id == ref
            )
        ).all()
    assert sorted(reads) == sorted([city.resident.ref, city.reviewer.ref])


def test_the_case_page_refuses_a_renamed_file_in_the_readers_language_and_links_each_upload(
    city: City, client: TestClient
) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.remove_document(
            s,
            city.resident,
            case_id,
            next(m["code"] for m in service.get_case(s, city.resident, case_id).materials if m["state"] == "uploaded"),
        )
    sign_in(client, "resident", PASSWORD, next_path="/services")
    url = f"/services/cases/{case_id}"
    page = client.get(url)
    assert 'id="upload-accepted"' in page.text
    with city.db.transaction() as s:
        code = service.missing_materials(service.get_case(s, city.resident, case_id))[0]["code"]
    for lang, words in (("zh", "不是 PDF、JPEG 或 PNG 文件"), ("en", "is not a PDF, JPEG or PNG file")):
        client.get(f"/lang/{lang}")
        r = client.post(
            url + "/documents",
            data={"material_code": code, "csrf_token": csrf(client.get(url))},
            files={"file": ("licence.png", b"hello, I am text", "image/png")},
        )
        assert r.status_code == 422 and words in r.text and "licence.png" in r.text
    r = client.post(
        url + "/documents",
        data={"material_code": code, "csrf_token": csrf(client.get(url))},
        files={"file": ("plan.png", _png(), "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(url)
    link = page.text.split(f'data-view="{code}"')[0].rsplit('href="', 1)[1].split('"')[0]
    shown = client.get(link)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    assert (
        shown.headers["content-disposition"].startswith("inline")
        and "sandbox" in shown.headers["content-security-policy"]
    )
    r = client.post(f"{url}/materials/{code}/remove", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(link).status_code == 404
    assert code in [m["code"] for m in _missing(city, case_id)]


def _missing(city: City, case_id: str) -> list[dict[str, str]]:
    with city.db.transaction() as s:
        return service.missing_materials(service.get_case(s, city.resident, case_id))
