"""The upload check (材料即传即审): each machine-read material is read and checked as it arrives, before submission.

Documents are printed by the corpus generator — the applicant's own, someone else's, the wrong kind,
an expired one — and read by the real OCR; the check's answer is what the pre-review's own checks
conclude on that one upload. Both backends.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core import clock
from onecity.core.bus import consumers
from onecity.core.errors import InvalidInput
from onecity.core.identity.principal import Principal
from onecity.hub.registries.models import Certificate, CertificateStatus, HolderKind, Person
from onecity.services import service, uploadstate
from onecity.services.models import Case, CaseEvent, CaseStatus
from onecity.services.presentation import upload_checks
from onecity.synth.actors.services import titled_page
from tests.conftest import PASSWORD
from tests.services.conftest import SENIOR_CARD, City, checked, draft, food_case_ready, printed, upload
from tests.web_support import csrf, sign_in


def _resident(city: City) -> str:
    """A Xuhui resident holding a valid ID card (the corpus prints it as the registry has it)."""
    with city.db.sessions() as s:
        found = s.scalars(
            select(Person.id_number)
            .join(Certificate, Certificate.holder_id == Person.id)
            .where(
                Person.division_code.startswith("310104"),
                Person.id != city.rep.id,
                Certificate.holder_kind == HolderKind.PERSON,
                Certificate.type_code == "id_card",
                Certificate.status == CertificateStatus.VALID,
                Certificate.valid_until >= clock.today(),
            )
            .order_by(Person.id)
            .limit(1)
        ).first()
    assert found is not None
    return found


def test_the_applicants_own_letter_passes_as_it_arrives(mca: tuple[City, Principal]) -> None:
    city, clerk = mca
    person = _resident(city)
    case_id = draft(city, clerk, person)
    upload(city, clerk, case_id, printed(city, person, "application_letter"), "application_letter")
    check = checked(city, case_id, "application_letter")
    assert check["status"] == "ok", check
    with city.db.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.DRAFT  # checked before anything is submitted
        events = s.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case_id)).all()
    assert "material_checked" in events
    with city.db.transaction() as s:
        service.submit(s, clerk, case_id)  # nothing flagged: no confirmation asked


def test_the_wrong_kind_of_document_is_flagged_and_submitting_it_needs_confirmation(
    mca: tuple[City, Principal],
) -> None:
    city, clerk = mca
    person = _resident(city)
    case_id = draft(city, clerk, person)
    upload(city, clerk, case_id, printed(city, person, "id_card"), "application_letter")
    check = checked(city, case_id, "application_letter")
    assert check["status"] == "flagged"
    assert check["problems"] == [{"problem": "wrong_type", "expected": "application_letter", "detected": "id_card"}]
    with city.db.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        zh, en = upload_checks(case, "zh"), upload_checks(case, "en")
    assert zh["application_letter"]["messages"] == ["这份材料看起来是居民身份证，不是所需的申请书。请上传申请书本身。"]
    assert en["application_letter"]["messages"] == [
        "This upload looks like the resident ID card, not the application letter asked for: "
        "upload the application letter itself."
    ]
    # submitting it is refused, naming the material, until the applicant confirms
    with city.db.transaction() as s, pytest.raises(InvalidInput) as refused:
        service.submit(s, clerk, case_id)
    assert refused.value.extra["flagged"] == ["application_letter"]
    assert refused.value.words is not None and refused.value.words.key == "services.check.confirm_needed"
    with city.db.transaction() as s:
        service.submit(s, clerk, case_id, confirm_flagged=True)
    with city.db.sessions() as s:
        submitted = s.scalars(
            select(CaseEvent.detail).where(CaseEvent.case_id == case_id, CaseEvent.action == "submitted")
        ).one()
    assert submitted["confirmed_flagged"] == ["application_letter"]  # the officer sees it was confirmed


def test_someone_elses_document_is_flagged_and_a_replacement_clears_it(mca: tuple[City, Principal]) -> None:
    city, clerk = mca
    person = _resident(city)
    with city.db.sessions() as s:
        other = s.scalars(select(Person.id_number).where(Person.id_number != person).order_by(Person.id)).first()
    assert other is not None
    case_id = draft(city, clerk, person)
    upload(city, clerk, case_id, printed(city, other, "application_letter"), "application_letter")
    check = checked(city, case_id, "application_letter")
    assert check["status"] == "flagged"
    assert {"problem": "someone_else"} in check["problems"]
    # the applicant replaces it with their own: checked again, and the flag goes with the old upload
    upload(city, clerk, case_id, printed(city, person, "application_letter"), "application_letter")
    assert checked(city, case_id, "application_letter")["status"] == "ok"
    with city.db.transaction() as s:
        case = service.submit(s, clerk, case_id)
        assert uploadstate.flagged(case) == []


def test_an_expired_document_is_flagged_with_its_date(mca: tuple[City, Principal]) -> None:
    city, clerk = mca
    today = clock.today()
    with city.db.sessions() as s:
        holder = s.scalars(
            select(Person.id_number)
            .join(Certificate, Certificate.holder_id == Person.id)
            .where(
                Certificate.holder_kind == HolderKind.PERSON,
                Certificate.type_code == "id_card",
                (Certificate.status == CertificateStatus.EXPIRED) | (Certificate.valid_until < today),
            )
            .order_by(Person.id)
        ).first()
    if holder is None:
        pytest.skip("the seed gave nobody an expired ID card")
    case_id = draft(city, clerk, holder)
    # an item that asks for the ID card itself (no registry stands in for it here): the upload is read as one
    with city.db.transaction() as s:
        case = s.get(Case, case_id)
        assert case is not None
        case.materials = [
            {**m, "state": "missing", "source": None, "ref": None} if m["code"] == "id_card" else m
            for m in case.materials
        ]
    upload(city, clerk, case_id, printed(city, holder, "id_card", forgery="expired"), "id_card")
    check = checked(city, case_id, "id_card")
    assert check["status"] == "flagged", check
    expired = [p for p in check["problems"] if p["problem"] == "expired"]
    assert expired and expired[0]["valid_until"] < today.isoformat()


def test_a_material_read_by_its_heading_is_told_from_another_and_a_page_without_one_goes_to_the_officer(
    city: City,
) -> None:
    """The food licence asks for a floor plan, no machine reads one whole: a household register uploaded in its
    place is flagged by name; a page with no heading (the conftest's PDF) is left to the officer."""
    case_id = food_case_ready(city)  # every material a PDF with ruled lines and no words
    consumers.deliver_pending(city.db)
    with city.db.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        checks = {m["code"]: m["check"]["status"] for m in case.materials if m["state"] == "uploaded"}
    assert "floor_plan" in checks and set(checks.values()) == {"officer"}, checks
    with city.db.transaction() as s:
        service.attach_document(
            s,
            city.resident,
            case_id,
            "floor_plan",
            filename="plan.png",
            content_type="image/png",
            content=titled_page("household_register"),
        )
    check = checked(city, case_id, "floor_plan")
    assert check["status"] == "flagged"
    assert check["problems"] == [
        {"problem": "wrong_material", "expected": "floor_plan", "detected": "household_register"}
    ]
    with city.db.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        zh, en = upload_checks(case, "zh"), upload_checks(case, "en")
    assert zh["floor_plan"]["messages"] == [
        "这份材料看起来是居民户口簿，不是所需的经营场所平面布局图。请上传经营场所平面布局图本身。"
    ]
    assert en["floor_plan"]["messages"] == [
        "This upload looks like the household register, not the floor plan of the premises asked for: "
        "upload the floor plan of the premises itself."
    ]
    with city.db.transaction() as s:
        service.attach_document(
            s,
            city.resident,
            case_id,
            "floor_plan",
            filename="plan.png",
            content_type="image/png",
            content=titled_page("floor_plan"),
        )
    assert checked(city, case_id, "floor_plan")["status"] == "ok"


def test_the_api_and_the_page_show_the_check_to_the_applicant_alone(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    """Online: the resident uploads the wrong document; the draft says so in both languages; submitting it
    needs the tick; the check lives on the case, which another district's clerk is refused."""
    me = login("resident")
    r = client.post("/api/v1/services/cases", json={"item_code": SENIOR_CARD}, headers=me)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    wrong = printed(city, city.rep.id_number, "id_card")
    r = client.post(
        f"/api/v1/services/cases/{case_id}/documents",
        headers=me,
        json={
            "material_code": "application_letter",
            "filename": "letter.png",
            "content_type": "image/png",
            "content_base64": base64.b64encode(wrong).decode(),
        },
    )
    assert r.status_code == 201, r.text
    [letter] = [m for m in r.json()["materials"] if m["code"] == "application_letter"]
    assert letter["check"]["status"] == "checking"  # the upload answers at once
    deadline = time.monotonic() + 120
    while True:  # the app's own worker reads it (the client runs the platform's consumers)
        case = client.get(f"/api/v1/services/cases/{case_id}", headers=me).json()
        [letter] = [m for m in case["materials"] if m["code"] == "application_letter"]
        if letter["check"]["status"] != "checking" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert letter["check"]["status"] == "flagged" and letter["check"]["problems"][0]["problem"] == "wrong_type"
    # the page, in each language: what is wrong and what to upload instead, no keys, no ids
    sign_in(client, "resident", PASSWORD, next_path="/services")
    url = f"/services/cases/{case_id}"
    for lang, words in (
        ("zh", ("材料有误", "请上传申请书本身", "仍然提交")),
        ("en", ("Looks wrong", "upload the application letter itself", "submit anyway")),
    ):
        client.get(f"/lang/{lang}")
        page = html.unescape(client.get(url).text)
        problems = page.split('data-check-problems="application_letter"')[1].split("</div>")[0]
        assert words[1] in problems and "services.check" not in problems and letter["ref"] not in problems
        assert words[0] in page and words[2] in page
    # submitting is refused until the applicant ticks the confirmation
    refused = client.post(f"/api/v1/services/cases/{case_id}/submit", headers=me)
    assert refused.status_code == 422 and refused.json()["flagged"] == ["application_letter"]
    r = client.post(url + "/submit", data={"csrf_token": csrf(client.get(url))})
    assert r.status_code == 422 and 'id="confirm-flagged"' in r.text
    # only those who may read the case see its checks: a clerk of another district is refused
    assert client.get(f"/api/v1/services/cases/{case_id}", headers=login("hpclerk")).status_code in (403, 404)
    ok = client.post(f"/api/v1/services/cases/{case_id}/submit", headers=me, params={"confirm_flagged": "true"})
    assert ok.status_code == 200 and ok.json()["status"] == "submitted"


def test_fields_are_checked_as_typed_in_both_languages(client: TestClient) -> None:
    r = client.post(
        "/api/v1/services/fields/check",
        json={"values": {"spouse_id_number": "110105194912310021", "phone": "1380013800", "spouse_name": "张三"}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"spouse_id_number", "phone"}
    assert "校验位" in body["spouse_id_number"]["zh"] and "check character" in body["spouse_id_number"]["en"]
    assert "11" in body["phone"]["zh"] and "11-digit" in body["phone"]["en"]
    ok = client.post("/api/v1/services/fields/check", json={"values": {"spouse_id_number": "11010519491231002X"}})
    assert ok.status_code == 200 and ok.json() == {}  # GB 11643's own example: its check character is X
    unknown = client.post("/api/v1/services/fields/check", json={"values": {"no_such_field": "1"}})
    assert unknown.status_code == 422


def test_the_bundle_page_shows_each_uploads_check_and_offers_the_tick(city: City, client: TestClient) -> None:
    """One upload serves every item of a bundle that asks for it: its check is shown once, with Replace."""
    from onecity.services import bundles

    with city.db.transaction() as s:
        app = bundles.start_bundle(s, city.resident, "open-restaurant", uscc=city.firm.uscc)
        bundles.attach_document(
            s,
            city.resident,
            app.id,
            "floor_plan",
            filename="plan.png",
            content_type="image/png",
            content=titled_page("household_register"),
        )
        app_id = app.id
    sign_in(client, "resident", PASSWORD, next_path="/services")
    url = f"/services/bundle-applications/{app_id}"
    client.get("/lang/en")
    deadline = time.monotonic() + 120
    page = client.get(url).text
    while 'data-check="flagged"' not in page and time.monotonic() < deadline:  # the app's worker reads it
        time.sleep(0.5)
        page = client.get(url).text
    page = html.unescape(page)
    problems = page.split('data-check-problems="floor_plan"')[1].split("</div>")[0]
    assert "looks like the household register" in problems and "upload the floor plan of the premises" in problems
    assert 'id="confirm-flagged"' in page and 'id="bundle-uploaded"' in page
