"""The photo check: an upload where the applicant's recent photo is asked for shows one face, close up,
checked as it arrives (before submission), in the upload check's states and the reader's words."""

from __future__ import annotations

import pytest

from onecity.core.bus import consumers
from onecity.services import portrait, service, uploadstate
from onecity.services.models import Case
from onecity.services.presentation import upload_checks
from onecity.synth.corpus.photo import KINDS, VARIANTS, _draw
from tests.services.conftest import PDF, City

SOCIAL_SECURITY_CARD = "310000-20-00081-001"  # asks for the ID card (held) and a recent photo


@pytest.mark.parametrize("kind", KINDS)
def test_each_drawn_photo_is_told_by_its_faces(kind: str) -> None:
    want = {
        "own": {"ok"},
        "someone_else": {"ok"},  # a close-up of one face: only a comparison with the applicant's would tell
        "group": {"several_faces"},
        "distant": {"face_small", "no_face"},
    }[kind]
    for variant in range(VARIANTS):
        result = portrait.check(_draw(kind, variant), "image/jpeg")
        said = {p["problem"] for p in result.get("problems", [])} or {result["status"]}
        assert said <= want, (kind, variant, result)


def test_a_page_of_a_document_is_no_photo() -> None:
    assert portrait.check(PDF, "application/pdf") == {"status": "flagged", "problems": [{"problem": "no_face"}]}


def _photo_check(city: City, case_id: str, content: bytes, content_type: str) -> dict[str, object]:
    with city.db.transaction() as s:
        doc = service.attach_document(
            s, city.resident, case_id, "photo", filename="photo.jpg", content_type=content_type, content=content
        )
        entry = next(m for m in s.get_one(Case, case_id).materials if m["code"] == "photo")
        assert entry["check"] == {"document_id": doc.id, "status": "checking"}  # answered at once
    consumers.deliver_pending(city.db)  # the worker
    with city.db.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        check: dict[str, object] = next(m for m in case.materials if m["code"] == "photo")["check"]
    return check


def test_a_group_photo_is_flagged_as_it_arrives_and_the_applicants_own_clears_it(city: City) -> None:
    with city.db.transaction() as s:
        case_id = service.start_case(s, city.resident, SOCIAL_SECURITY_CARD).id
    assert uploadstate.checked_by_machine("photo")
    check = _photo_check(city, case_id, _draw("group", 0), "image/jpeg")
    assert check["status"] == "flagged" and check["problems"] == [{"problem": "several_faces"}]
    with city.db.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        zh, en = upload_checks(case, "zh")["photo"], upload_checks(case, "en")["photo"]
    assert zh["messages"] == ["这张照片上不止一个人。请上传本人单人近期免冠正面照片。"]
    assert en["messages"] == ["More than one person shows on this picture: upload a photo of the applicant alone."]
    assert _photo_check(city, case_id, PDF, "application/pdf")["problems"] == [{"problem": "no_face"}]
    assert _photo_check(city, case_id, _draw("own", 3), "image/jpeg")["status"] == "ok"
    with city.db.transaction() as s:
        case = s.get(Case, case_id)
        assert case is not None and not uploadstate.flagged(case)
