"""The AI pre-review on the web and the API: the staff panel with the uploads' boxes, the upload itself,
the officer's override, the work queue's advice, and the applicant's one-time list without reasons.

Cases are pre-reviewed for real (the OCR reads a generated application letter), so the tests that
read a letter run on the embedded database only; each read costs a second or two.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core.identity import service as identity
from onecity.core.identity.roles import PrincipalKind
from onecity.hub.registries.models import Person
from onecity.hub.sharing.models import ResidentLink
from onecity.services import advice, service
from onecity.services.models import Case, Document, PreReview
from tests.conftest import PASSWORD, SYSTEM
from tests.services.conftest import PDF, City, food_case_ready
from tests.services.test_prereview import _apply_at_counter, _clerk, _letter, _person
from tests.web_support import csrf, sign_in

API = "/api/v1/services"
ocr_on_sqlite = pytest.mark.parametrize("backend", ["sqlite"])


def _applicant_account(city: City, id_number: str, username: str = "senior") -> None:
    """A citizen account linked to the person a counter case was started for."""
    with city.db.transaction() as s:
        person_id = s.scalar(select(Person.id).where(Person.id_number == id_number))
        user = identity.create_user(
            s,
            SYSTEM,
            username=username,
            password=PASSWORD,
            kind=PrincipalKind.CITIZEN,
            roles=[],
            agency_code=None,
            division_code=None,
        )
        s.add(ResidentLink(user_id=user.id, person_id=person_id, linked_by=SYSTEM.ref))


def _food_case(city: City) -> str:
    """The resident's food business licence, every material a PDF, submitted: pre-reviewed without OCR."""
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    return case_id


def _reviewed(city: City, case_id: str, seconds: float = 120.0) -> tuple[Case, PreReview]:
    """The case and its pre-review once the running app's consumer has made it (the client's app
    delivers the outbox itself: delivering here as well would race it for the inbox row)."""
    deadline = time.monotonic() + seconds
    while True:
        with city.db.sessions() as s:
            review = advice.latest(s, case_id)
            if review is not None:
                case = s.get(Case, case_id)
                assert case is not None
                s.expunge_all()
                return case, review
        assert time.monotonic() < deadline, f"case {case_id} was not pre-reviewed in {seconds} s"
        time.sleep(0.2)


def _letter_doc(city: City, case_id: str) -> Document:
    with city.db.sessions() as s:
        doc = s.scalars(select(Document).where(Document.case_id == case_id)).one()
        s.expunge(doc)
        return doc


@ocr_on_sqlite
def test_staff_see_the_forged_letter_and_override_it_the_applicant_sees_no_reasons(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    clerk = _clerk(city)
    senior = _person(city, senior=True)
    letter = _letter(city, senior, forgery="other_holder")
    case_id = _apply_at_counter(city, clerk, senior, letter)
    _case, review = _reviewed(city, case_id)
    assert review.outcome == "refusal_suggested"
    doc = _letter_doc(city, case_id)
    other_case = _food_case(city)
    image = f"/services/cases/{case_id}/documents/{doc.id}"
    forged_id = review.documents[0]["fields"]["id_number"]["value"]
    third_person = next(r["evidence"]["registry"] for r in review.reasons if r["rule"] == "registry.holder_name")

    # staff: the panel with outcome, reasons in words, each field read, the image and its boxes' data
    sign_in(client, "mca.clerk", next_path=f"/services/cases/{case_id}")
    page = client.get(f"/services/cases/{case_id}")
    assert page.status_code == 200
    panel = page.text.split('id="prereview"')[1].split("</section>")[0]
    assert 'data-outcome="refusal_suggested"' in panel and "建议不予" in panel
    assert forged_id in panel and third_person in panel  # staff see the evidence
    assert "材料属于申请人" in panel and "与申请表比对" in panel  # rules in words
    assert f'href="{image}"' in panel and f'data-src="{image}"' in panel and "data-boxes=" in panel
    assert re.search(r'<td class="nowrap">\d{1,3}(\.\d)?%</td>', panel)  # confidence as a percentage
    assert "/static/services/prereview.js" in page.text
    shown = client.get(image)
    assert shown.status_code == 200 and shown.content == letter
    assert shown.headers["content-type"] == "image/png" and shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["content-disposition"].startswith("inline")
    # a document of another case is not found through this one
    with city.db.sessions() as s:
        foreign = s.scalars(select(Document.id).where(Document.case_id == other_case)).first()
    assert client.get(f"/services/cases/{case_id}/documents/{foreign}").status_code == 404
    assert client.get(f"/services/cases/{case_id}/documents/no-such-doc").status_code == 404

    # the API: every round with full reasons, for staff; the override validated
    officer = login("mca.clerk")
    rounds = client.get(f"{API}/cases/{case_id}/prereviews", headers=officer)
    assert rounds.status_code == 200 and [r["round"] for r in rounds.json()] == [1]
    assert any(r["rule"] == "application.holder" for r in rounds.json()[0]["reasons"])
    for bad in (
        {"outcome": "approve_unattended", "reason": "x"},
        {"outcome": "pre_approved", "reason": ""},
        {"outcome": "pre_approved"},
        {"outcome": "pre_approved", "reason": "   "},
    ):
        r = client.post(f"{API}/cases/{case_id}/prereview/override", json=bad, headers=officer)
        assert r.status_code == 422, (bad, r.text)

    # the override form: an empty reason comes back with the message, a reason is recorded and shown
    r = client.post(
        f"/services/cases/{case_id}/prereview/override",
        data={"outcome": "pre_approved", "reason": "  ", "csrf_token": csrf(page)},
    )
    assert r.status_code == 422 and "say why" in r.text and 'id="prereview"' in r.text
    r = client.post(
        f"/services/cases/{case_id}/prereview/override",
        data={"outcome": "pre_approved", "reason": "申请人到窗口核对了身份证原件", "csrf_token": csrf(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    after = client.get(f"/services/cases/{case_id}")
    done = after.text.split('id="prereview-override-done"')[1].split("</div>")[0]
    assert "mca.clerk" in done and "申请人到窗口核对了身份证原件" in done and "预审通过" in done
    assert 'id="prereview-override"' not in after.text  # once only
    again = client.post(
        f"{API}/cases/{case_id}/prereview/override",
        json={"outcome": "needs_correction", "reason": "再改一次"},
        headers=officer,
    )
    assert again.status_code == 409
    assert (
        client.get(f"{API}/cases/{case_id}/prereviews", headers=officer).json()[0]["override_outcome"] == "pre_approved"
    )

    # the applicant: their upload, but not the advice, the reasons or whom the forged number belongs to
    client.cookies.clear()
    _applicant_account(city, senior)
    sign_in(client, "senior", next_path=f"/services/cases/{case_id}")
    mine = client.get(f"/services/cases/{case_id}")
    assert mine.status_code == 200 and 'id="prereview"' not in mine.text
    for secret in ("建议不予", "refusal_suggested", third_person, forged_id, "prereviewed outcome"):
        assert secret not in mine.text, secret
    assert "智能预审" in mine.text.split('id="case-history"')[1]  # the step is in the history, without detail
    assert client.get(image).content == letter
    assert client.get(f"{API}/cases/{case_id}/prereviews", headers=login("senior")).status_code == 403

    # strangers: another district's clerk, another resident, nobody signed in
    client.cookies.clear()
    sign_in(client, "hpclerk", next_path="/services/work")
    assert client.get(image).status_code == 403
    assert client.get(f"/services/cases/{case_id}").status_code == 403
    assert client.get(f"{API}/cases/{case_id}/prereviews", headers=login("hpclerk")).status_code == 403
    client.cookies.clear()
    sign_in(client, "resident", next_path="/services")
    assert client.get(image).status_code == 404  # as for the case: not confirmed to exist
    client.cookies.clear()
    anonymous = client.get(image, follow_redirects=False).status_code
    assert anonymous in (401, 403) and anonymous == client.get(f"/services/cases/{case_id}").status_code
    assert client.get(f"{API}/cases/{case_id}/prereviews").status_code == 401


@ocr_on_sqlite
def test_a_case_needing_correction_in_the_queue_and_for_the_applicant(city: City, client: TestClient) -> None:
    clerk = _clerk(city)
    senior = _person(city, senior=True)
    with city.db.sessions() as s:
        from onecity.hub.registries.models import Certificate

        if (
            s.scalar(
                select(Certificate.id).where(
                    Certificate.holder_identifier == senior, Certificate.type_code == "id_card"
                )
            )
            is None
        ):
            pytest.skip("the seeded senior holds no ID-card record to print")
    case_id = _apply_at_counter(city, clerk, senior, _letter(city, senior, doc_type="id_card"))
    _case, review = _reviewed(city, case_id)
    assert review.outcome == "needs_correction" and review.corrections
    messages = [c["message"] for c in review.corrections] + [r["message"] for r in review.reasons]

    sign_in(client, "mca.clerk", next_path="/services/work")
    work = client.get("/services/work")
    row = work.text.split(f'data-case="{_case.number}"')[1].split("</tr>")[0]
    assert 'data-prereview="needs_correction"' in row and "需补正" in row
    assert f'href="/services/cases/{case_id}#prereview"' in row
    assert 'id="queue-prereview-help"' in work.text
    accept = row.split('href="/services/work/')[1].split('"')[0]
    task = client.get(f"/services/work/{accept}").text
    assert 'name="missing" value="application_letter" checked' in task  # the supplement form is prefilled
    assert 'data-against="1"' in task  # accepting against the advice asks for a reason
    # accepting without a reason comes back with the service's message
    r = client.post(f"/services/work/{accept}", data={"outcome": "accept", "csrf_token": csrf(work)})
    assert r.status_code == 422 and "say why" in r.text

    client.cookies.clear()
    _applicant_account(city, senior)
    sign_in(client, "senior", next_path=f"/services/cases/{case_id}")
    page = client.get(f"/services/cases/{case_id}")
    told = page.text.split('id="prereview-corrections"')[1].split("</section>")[0]
    assert "申请书" in told and "请核对以下材料后重新上传" in told
    for message in messages:
        assert message not in page.text, message
    assert "reads as" not in page.text and 'id="prereview"' not in page.text


def test_the_queue_badge_words_on_the_case_page_and_a_pdf_download(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    """No OCR: the food licence's uploads are PDFs, pre-approved for an officer to confirm."""
    case_id = _food_case(city)
    _reviewed(city, case_id)
    with city.db.sessions() as s:
        assert s.scalars(select(PreReview.outcome).where(PreReview.case_id == case_id)).one() == "pre_approved"
        pdf = s.scalars(select(Document.id).where(Document.case_id == case_id)).first()
    sign_in(client, "clerk", next_path="/services/work")
    work = client.get("/services/work")
    assert 'data-prereview="pre_approved"' in work.text and "预审通过，待人工确认" in work.text
    page = client.get(f"/services/cases/{case_id}")
    assert 'data-outcome="pre_approved"' in page.text and "无法机读" in page.text
    assert "prereview.js" not in page.text  # nothing read, nothing to draw
    # prefill sources and history in words, not keys
    assert "法人登记·名称" in page.text and "证照库·营业执照" in page.text
    history = page.text.split('id="case-history"')[1]
    assert (
        "提交材料" in history
        and "经营场所平面布局图" in history
        and "material_added" not in history.replace('data-action="material_added"', "")
    )
    assert "智能预审" in history and "第 1 轮" in history
    # a PDF is downloaded, never shown inline
    got = client.get(f"/services/cases/{case_id}/documents/{pdf}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment")
    # the API override, end to end
    r = client.post(
        f"{API}/cases/{case_id}/prereview/override",
        json={"outcome": "needs_correction", "reason": "平面图与租赁合同地址不符"},
        headers=login("clerk"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["override_outcome"] == "needs_correction" and r.json()["overridden_by"].startswith("user:")
    client.cookies.clear()
    sign_in(client, "resident", next_path=f"/services/cases/{case_id}")
    mine = client.get(f"/services/cases/{case_id}")
    assert "平面图与租赁合同地址不符" not in mine.text and 'id="prereview"' not in mine.text
    assert client.get(f"/services/cases/{case_id}/documents/{pdf}").status_code == 200
