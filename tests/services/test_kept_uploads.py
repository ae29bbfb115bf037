"""Uploads that failed an authenticity check are kept when replaced or removed before submission.

The upload check tells the applicant what is wrong before they submit; for a forgery that would
make it an oracle (try forgeries until one passes, nothing left for the officer). A forged upload
is therefore kept, with its check result, in the transaction that replaces or removes it (or deletes
the draft); the officer sees it, the pre-review sends the case to an officer, and an honest mistake
(someone else's document, the wrong kind, an expired one) stays freely replaceable. Documents are
printed by the corpus generator and read by the real OCR.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.bus import consumers
from onecity.core.errors import PermissionDenied
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import Role
from onecity.documents.crosscheck import Finding, Outcome
from onecity.hub.registries.models import Person
from onecity.services import advice, keptuploads, prereview, service, uploadcheck, uploadstate
from onecity.services.models import Case, CaseEvent, Document, KeptUpload, PreReviewOutcome
from onecity.services.presentation import kept_uploads, upload_checks
from tests.conftest import PASSWORD
from tests.services.conftest import SENIOR_CARD, XUHUI, City, checked, draft, printed, staff, upload
from tests.web_support import sign_in


def _senior(city: City) -> str:
    """A Xuhui resident of 61 or more with Shanghai hukou: eligible, so a clean case is approved unattended."""
    from datetime import timedelta

    cut = clock.today() - timedelta(days=366 * 61)
    with city.db.sessions() as s:
        found = s.scalars(
            select(Person.id_number)
            .where(
                Person.division_code.startswith("310104"),
                Person.hukou_region.startswith("31"),
                Person.birth_date <= cut,
            )
            .order_by(Person.id)
            .limit(1)
        ).first()
    assert found is not None
    return found


def test_a_forged_letter_replaced_before_submission_is_kept_and_the_case_goes_to_an_officer(
    mca: tuple[City, Principal],
) -> None:
    city, clerk = mca
    senior = _senior(city)
    case_id = draft(city, clerk, senior)
    forged = printed(city, senior, forgery="bad_check_digit")
    forged_id = upload(city, clerk, case_id, forged)
    check = checked(city, case_id)
    assert check["status"] == "flagged" and check["authenticity"] == ["identifier.check_digit"], check
    with city.db.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert upload_checks(case, "en")["application_letter"]["kept"]  # told before replacing it
    # the applicant replaces it with their own letter: the forgery is kept, in the same transaction
    genuine_id = upload(city, clerk, case_id, printed(city, senior))
    with city.db.sessions() as s:
        assert s.get(Document, forged_id) is None and s.get(Document, genuine_id) is not None
        kept = s.get(KeptUpload, forged_id)
        assert kept is not None and kept.content == forged and kept.case_id == case_id
        assert kept.kept_because == "replaced" and kept.check["authenticity"] == ["identifier.check_digit"]
        assert kept.applicant_identifier == senior and kept.department == "sh-mca"
        history = {e.action: e.detail for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))}
    assert history["material_kept"]["document_id"] == forged_id
    assert history["material_kept"]["authenticity"] == ["identifier.check_digit"]
    assert checked(city, case_id)["status"] == "ok"
    with city.db.transaction() as s:
        service.submit(s, clerk, case_id)
    consumers.deliver_pending(city.db)
    with city.db.sessions() as s:
        review = advice.latest(s, case_id)
        case = s.get(Case, case_id)
        assert review is not None and case is not None
        # everything read clean and the applicant is eligible: only the kept forgery stops the unattended approval
        assert review.outcome == PreReviewOutcome.PRE_APPROVED and not review.acted, review.summary
        [signal] = [r for r in review.reasons if r["rule"] == prereview.KEPT_RULE]
        assert signal["evidence"] == {"this_case": 1, "other_applications": 0, "days": 365, "routed": True}
        assert case.status == "submitted" and case.decided_at is None
    # the officer opens the kept upload as any material: audited as a read of the applicant's data
    with city.db.transaction() as s:
        doc = service.read_document(s, clerk, case_id, forged_id)
        assert doc.content == forged
    with city.db.sessions() as s:
        reads = s.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "services.case.document_read", AuditEntry.object_id == forged_id
            )
        ).all()
        assert [r.object_type for r in reads] == ["kept_upload"]
        # another department's staff may not read it, as for the case's other materials
        other = staff(s, "samr.other", "xh-samr", XUHUI, Role.REVIEWER)
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        service.read_document(s, other, case_id, forged_id)


def test_honest_mistakes_stay_freely_replaceable(mca: tuple[City, Principal]) -> None:
    """Someone else's genuine letter is flagged, but replacing it deletes it: nothing is held against the applicant."""
    city, clerk = mca
    senior = _senior(city)
    with city.db.sessions() as s:
        other = s.scalars(select(Person.id_number).where(Person.id_number != senior).order_by(Person.id)).first()
    assert other is not None
    case_id = draft(city, clerk, senior)
    theirs = upload(city, clerk, case_id, printed(city, other))
    check = checked(city, case_id)
    assert check["status"] == "flagged" and {"problem": "someone_else"} in check["problems"]
    assert "authenticity" not in check
    upload(city, clerk, case_id, printed(city, senior))
    with city.db.sessions() as s:
        assert s.get(Document, theirs) is None and s.get(KeptUpload, theirs) is None
        case = s.get(Case, case_id)
        assert case is not None and keptuploads.risk(s, case) is None


def _fail(rule: str, **evidence: str) -> Finding:
    return Finding(rule, "", Outcome.FAIL, rule, evidence)


def test_only_authenticity_failures_are_marked() -> None:
    """The verdict marks a forgery's checks; the wrong kind, someone else's, expired, revoked or unread are not."""
    ok = Finding("registry.holder_exists", "", Outcome.PASS, "ok")
    honest = [
        [_fail("document.type", expected="id_card", detected="business_licence"), _fail("registry.holder_name")],
        [_fail("application.holder"), _fail("form.name")],
        [_fail("certificate.valid_on_date", valid_until="2020-01-01")],
        [_fail("certificate.not_revoked")],
        [_fail("field.read")],
        [_fail("registry.holder_active")],
    ]
    for findings in honest:
        result = uploadcheck.verdict([ok, *findings], read=True)
        assert result["status"] == "flagged" and "authenticity" not in result, findings
        assert not uploadstate.suspect({**result, "document_id": "x"})
    forged = [
        ([_fail("identifier.check_digit")], ["identifier.check_digit"]),
        ([_fail("application.holder"), _fail("registry.holder_name")], ["registry.holder_name"]),
        ([_fail("registry.issued_on"), _fail("certificate.valid_on_date")], ["registry.issued_on"]),
        ([_fail("consistency.birth_date"), _fail("consistency.sex")], ["consistency.birth_date", "consistency.sex"]),
        ([_fail("certificate.exists")], ["certificate.exists"]),
    ]
    for findings, rules in forged:
        result = uploadcheck.verdict([ok, *findings], read=True)
        assert result["authenticity"] == rules and uploadstate.suspect(result), findings


def test_removing_the_forgery_or_deleting_the_draft_keeps_it_with_the_applicant(
    mca: tuple[City, Principal],
) -> None:
    city, clerk = mca
    senior = _senior(city)
    first = draft(city, clerk, senior)
    removed = upload(city, clerk, first, printed(city, senior, forgery="bad_check_digit"))
    assert checked(city, first).get("authenticity")
    with city.db.transaction() as s:
        service.remove_document(s, clerk, first, "application_letter")
    again = upload(city, clerk, first, printed(city, senior, forgery="bad_check_digit", seed=12))
    assert checked(city, first).get("authenticity")
    with city.db.transaction() as s:
        service.delete_draft(s, clerk, first)
    with city.db.sessions() as s:
        rows = {k.id: k for k in s.scalars(select(KeptUpload))}
        assert set(rows) == {removed, again}
        assert rows[removed].kept_because == "removed" and rows[again].kept_because == "draft_deleted"
        assert all(k.case_id is None and k.applicant_identifier == senior for k in rows.values())
    # the applicant starts afresh: their next case shows both attempts and goes to an officer
    second = draft(city, clerk, senior)
    with city.db.sessions() as s:
        case = s.get(Case, second)
        assert case is not None
        assert keptuploads.risk(s, case) == {"this_case": 0, "other_applications": 2, "days": 365}
        view = kept_uploads(s, case, "en", staff=True)
        assert view["count"] == 2 and not view["here"]
        assert all(k["deleted_draft"] and k["href"] for k in view["elsewhere"])
        assert kept_uploads(s, case, "en", staff=False)["elsewhere"] == []  # the applicant's page: this case only
    with city.db.transaction() as s:
        assert service.read_document(s, clerk, second, again).sha256  # opens from the later case, same department
    upload(city, clerk, second, printed(city, senior))
    assert checked(city, second)["status"] == "ok"
    with city.db.transaction() as s:
        service.submit(s, clerk, second)
    consumers.deliver_pending(city.db)
    with city.db.sessions() as s:
        review = advice.latest(s, second)
        assert review is not None and review.outcome == PreReviewOutcome.PRE_APPROVED and not review.acted
        [signal] = [r for r in review.reasons if r["rule"] == prereview.KEPT_RULE]
        assert signal["evidence"]["other_applications"] == 2 and signal["evidence"]["routed"]


def test_keeping_and_replacing_is_one_transaction(mca: tuple[City, Principal]) -> None:
    """A replacement that fails after the forgery was moved leaves the draft as it was: the forgery still on it."""
    city, clerk = mca
    senior = _senior(city)
    case_id = draft(city, clerk, senior)
    forged_id = upload(city, clerk, case_id, printed(city, senior, forgery="bad_check_digit"))
    assert checked(city, case_id).get("authenticity")
    genuine = printed(city, senior)

    class Interrupted(Exception):
        pass

    with pytest.raises(Interrupted), city.db.transaction() as s:
        service.attach_document(
            s, clerk, case_id, "application_letter", filename="l.png", content_type="image/png", content=genuine
        )
        assert s.get(KeptUpload, forged_id) is not None
        raise Interrupted
    with city.db.sessions() as s:
        assert s.get(KeptUpload, forged_id) is None and s.get(Document, forged_id) is not None
        case = s.get(Case, case_id)
        assert case is not None and next(m for m in case.materials if m["code"] == "application_letter")["ref"] == (
            forged_id
        )


@pytest.fixture
def kept_case(city: City) -> Iterator[tuple[City, str, str]]:
    """A draft of the resident's own whose forged letter the check flagged and which was replaced."""
    with city.db.transaction() as s:
        case_id = service.start_case(s, city.resident, SENIOR_CARD).id
    forged_id = upload(city, city.resident, case_id, printed(city, city.rep.id_number, forgery="bad_check_digit"))
    assert checked(city, case_id).get("authenticity")
    upload(city, city.resident, case_id, printed(city, city.rep.id_number))
    yield city, case_id, forged_id


@pytest.mark.parametrize("backend", ["sqlite"])  # words do not depend on the backend
def test_the_applicant_is_told_in_neutral_words_and_the_officer_sees_the_document(
    kept_case: tuple[City, str, str], client: TestClient
) -> None:
    city, case_id, forged_id = kept_case
    with city.db.transaction() as s:
        staff(s, "mca.reviewer", "sh-mca", XUHUI, Role.REVIEWER)
    sign_in(client, "resident", PASSWORD, next_path="/services")
    url = f"/services/cases/{case_id}"
    for lang, words in (
        ("zh", ("随申请留存的材料", "未通过真实性核验", "已被替换")),
        ("en", ("Uploads kept with your application", "did not pass the authenticity check", "replaced")),
    ):
        client.get(f"/lang/{lang}")
        page = html.unescape(client.get(url).text)
        mine = page.split('id="kept-mine"')[1].split("</section>")[0]
        assert all(w in mine for w in words), mine
        assert "services.kept" not in mine and "identifier" not in mine  # no keys, no rule names
        assert f"/services/cases/{case_id}/documents/{forged_id}" in mine
    r = client.get(f"/services/cases/{case_id}/documents/{forged_id}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    client.cookies.clear()
    sign_in(client, "mca.reviewer", PASSWORD, next_path="/services")
    for lang, words in (
        ("zh", ("提交前被替换的未通过真实性核验的材料", "证件号码或信用代码校验位不符", "：1 份")),
        (
            "en",
            (
                "failed an authenticity check, replaced before submission",
                "fails its check character",
                "in all their applications: 1",
            ),
        ),
    ):
        client.get(f"/lang/{lang}")
        page = html.unescape(client.get(url).text)
        section = page.split('id="kept-uploads"')[1].split("</section>")[0]
        assert all(w in section for w in words), section
        assert f'data-kept="{forged_id}"' in section and "services.kept" not in section
