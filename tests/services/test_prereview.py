"""AI pre-review and unattended approval (issue 5): read the uploads, check them, decide with reasons.

The senior citizen card (敬老卡) is the item that may be approved with no officer: its
application letter is read by OCR and checked against the registry, and the applicant's
eligibility comes from ``senior_citizen_card.dmn``. Documents are printed by the corpus
generator for exactly the applicant, genuine or forged, so every outcome here is what the
real pipeline concludes from a real image (the OCR runs; nothing is stubbed).
"""

from __future__ import annotations

import base64
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select, text
from sqlalchemy.pool import QueuePool

from onecity.core import clock
from onecity.core.audit import AuditEntry
from onecity.core.bus import consumers
from onecity.core.errors import InvalidInput
from onecity.core.events import ProcessedMessage
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import Role
from onecity.documents import pipeline
from onecity.documents.ocr import OcrResult, RapidOcrEngine
from onecity.documents.pipeline import Reader
from onecity.hub.registries.models import Certificate, Person, PersonStatus
from onecity.services import advice, prereview, service
from onecity.services.models import Case, CaseEvent, CaseStatus, PreReview, PreReviewOutcome, WorkItem
from onecity.synth.corpus import Generator, Roster
from tests.services.conftest import FOOD, XUHUI, City, food_case_ready, staff

SENIOR_CARD = "310000-20-00072-001"


def _person(city: City, *, senior: bool) -> str:
    """A Xuhui resident with Shanghai hukou, aged 60 or over (or under 50)."""
    cut = clock.today() - timedelta(days=366 * (61 if senior else 50))
    with city.db.sessions() as s:
        query = select(Person.id_number).where(
            Person.division_code.startswith("310104"), Person.hukou_region.startswith("31")
        )
        query = query.where(Person.birth_date <= cut) if senior else query.where(Person.birth_date >= cut)
        found = s.scalars(query.order_by(Person.id).limit(1)).first()
    assert found is not None
    return found


def _clerk(city: City) -> Principal:
    with city.db.transaction() as s:
        return staff(s, "mca.clerk", "sh-mca", XUHUI, Role.COUNTER_CLERK)


def _letter(
    city: City,
    id_number: str,
    *,
    forgery: str | None = None,
    degradations: tuple[str, ...] = (),
    doc_type: str = "application_letter",
) -> bytes:
    with city.db.sessions() as s:
        roster = Roster([], [], {})
        assert roster.add_holder(s, id_number)
        if forgery == "other_holder":
            other = s.scalars(select(Person.id_number).where(Person.id_number != id_number).limit(1)).first()
            assert other is not None and roster.add_holder(s, other)
    gen = Generator(roster, seed=11, as_of=clock.today())
    return gen.sample(
        1, doc_type, degradations=degradations, forgery=forgery, holder=id_number, item="上海市敬老卡"
    ).image


def _apply_at_counter(city: City, clerk: Principal, id_number: str, letter: bytes) -> str:
    with city.db.transaction() as s:
        case = service.start_case(s, clerk, SENIOR_CARD, id_number=id_number, identity_checked=True)
        assert {m["code"]: m["state"] for m in case.materials} == {"application_letter": "missing", "id_card": "held"}
        service.attach_document(
            s, clerk, case.id, "application_letter", filename="letter.png", content_type="image/png", content=letter
        )
        service.submit(s, clerk, case.id)
        return case.id


def _reviewed(city: City, case_id: str) -> tuple[Case, PreReview]:
    consumers.deliver_pending(city.db)
    with city.db.sessions() as s:
        case = s.get(Case, case_id)
        review = advice.latest(s, case_id)
        assert case is not None and review is not None
        s.expunge_all()
        return case, review


@pytest.fixture
def mca(sqlite_city: City) -> tuple[City, Principal]:
    return sqlite_city, _clerk(sqlite_city)


def test_an_eligible_senior_with_a_genuine_letter_is_approved_unattended(mca: tuple[City, Principal]) -> None:
    city, clerk = mca
    senior = _person(city, senior=True)
    case_id = _apply_at_counter(city, clerk, senior, _letter(city, senior))
    case, review = _reviewed(city, case_id)
    assert review.outcome == PreReviewOutcome.APPROVE_UNATTENDED and review.acted, review.summary
    assert case.status == CaseStatus.APPROVED and case.certificate_id is not None
    assert "无人干预" in (case.decision_reason or "")
    # the reasons: eligibility (which DMN rule) and the letter (which checks, with confidence)
    rules = {r["rule"]: r for r in review.reasons}
    assert rules["eligibility.senior_citizen_card"]["outcome"] == "pass"
    assert rules["eligibility.senior_citizen_card"]["decision"]
    assert rules["document_risk"]["material"] == "application_letter"
    assert rules["document_risk"]["confidence"] >= prereview.HIGH_CONFIDENCE
    [doc] = review.documents
    assert doc["type"] == "application_letter" and doc["risk"] == "low"
    assert doc["fields"]["id_number"]["value"] == senior and doc["fields"]["id_number"]["box"]
    with city.db.sessions() as s:
        actions = [
            (e.actor, e.action)
            for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
        ]
        assert ("system:services:prereview", "prereviewed") in actions
        assert ("system:services:unattended", "task_decide") in actions
        assert s.get(Certificate, case.certificate_id) is not None
        # the pre-review's registry reads are audited with the case in their purpose
        reads = s.scalars(select(AuditEntry).where(AuditEntry.actor == "system:services:prereview")).all()
        assert reads and all(case.number in (r.purpose or "") for r in reads if r.purpose)
    # delivering again changes nothing: the inbox makes the pre-review exactly-once
    consumers.deliver_pending(city.db)
    with city.db.sessions() as s:
        assert len(s.scalars(select(PreReview).where(PreReview.case_id == case_id)).all()) == 1


@pytest.mark.parametrize("forgery", ["bad_check_digit", "other_holder"])
def test_a_forged_letter_is_never_approved_and_the_officer_must_say_why_to_go_on(
    mca: tuple[City, Principal], forgery: str
) -> None:
    city, clerk = mca
    senior = _person(city, senior=True)
    case_id = _apply_at_counter(city, clerk, senior, _letter(city, senior, forgery=forgery))
    case, review = _reviewed(city, case_id)
    assert review.outcome == PreReviewOutcome.REFUSAL_SUGGESTED and not review.acted
    assert case.status == CaseStatus.SUBMITTED and case.decided_at is None
    failed = [r for r in review.reasons if r["outcome"] == "fail"]
    assert failed and all(r["material"] == "application_letter" for r in failed)
    assert any(r["field"] == "id_number" and r["box"] for r in failed)
    with city.db.transaction() as s:
        [accept] = [w for w, c in service.work_queue(s, clerk) if c.id == case_id]
    # accepting is not against a refusal suggestion (the reviewer and approver decide), approving is
    with city.db.transaction() as s:
        service.complete_task(s, clerk, accept.id, "accept")
    assert advice.contradicts(review, "decide", "approve")
    with city.db.transaction() as s, pytest.raises(InvalidInput, match="say why"):
        current, stored = s.get(Case, case_id), s.get(PreReview, review.id)
        assert current is not None and stored is not None
        advice.record_override(s, clerk, current, stored, "decide:approve", "  ")


def test_an_applicant_under_60_is_refused_by_the_eligibility_table(mca: tuple[City, Principal]) -> None:
    city, clerk = mca
    young = _person(city, senior=False)
    case_id = _apply_at_counter(city, clerk, young, _letter(city, young))
    case, review = _reviewed(city, case_id)
    assert review.outcome == PreReviewOutcome.REFUSAL_SUGGESTED and case.status == CaseStatus.SUBMITTED
    assert review.eligibility is not None and review.eligibility["outputs"]["eligible"] is False
    assert "not eligible" in review.summary


def test_the_wrong_document_needs_correction_with_the_one_time_list(mca: tuple[City, Principal]) -> None:
    city, clerk = mca
    senior = _person(city, senior=True)
    with city.db.sessions() as s:
        has_id = s.scalar(
            select(Certificate.id).where(Certificate.holder_identifier == senior, Certificate.type_code == "id_card")
        )
    if has_id is None:
        pytest.skip("the seeded senior holds no ID-card record to print")
    card = _letter(city, senior, doc_type="id_card")
    case_id = _apply_at_counter(city, clerk, senior, card)
    case, review = _reviewed(city, case_id)
    assert review.outcome == PreReviewOutcome.NEEDS_CORRECTION, review.summary
    assert review.corrections and review.corrections[0]["material"] == "application_letter"
    assert "reads as a id_card" in review.corrections[0]["message"]
    # the clerk accepts anyway only with a reason, which is recorded as an override of the pre-review
    with city.db.transaction() as s:
        [accept] = [w for w, c in service.work_queue(s, clerk) if c.id == case_id]
    with city.db.transaction() as s, pytest.raises(InvalidInput, match="say why"):
        service.complete_task(s, clerk, accept.id, "accept")
    with city.db.transaction() as s:
        service.complete_task(s, clerk, accept.id, "accept", reason="申请人当场补签了申请书，已核对原件")
    with city.db.sessions() as s:
        row = s.get(PreReview, review.id)
        assert row is not None and row.overridden_by == clerk.ref and row.override_outcome == "accept:accept"
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "services.prereview.overridden")).first()


def test_an_item_for_officers_is_pre_approved_without_reading_anything(city: City) -> None:
    """Food business licence: no upload a machine reads, not an unattended item: an officer decides."""
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    case, review = _reviewed(city, case_id)
    assert review.outcome == PreReviewOutcome.PRE_APPROVED and case.status == CaseStatus.SUBMITTED
    assert review.documents == [] and "decided by an officer" in review.summary
    assert {r["material"] for r in review.reasons if r["rule"] == "document.unread"} == {
        "lease_contract",
        "floor_plan",
        "food_safety_rules",
        "food_safety_officer",
    }
    # an officer may say the pre-review is wrong before acting, with a reason
    with city.db.transaction() as s:
        with pytest.raises(InvalidInput, match="say why"):
            prereview.override(s, city.clerk, case_id, "needs_correction", "")
        prereview.override(s, city.clerk, case_id, "needs_correction", "租赁合同已过期")
    with city.db.sessions() as s:
        row = advice.latest(s, case_id)
        assert row is not None and row.override_outcome == "needs_correction"
        assert s.scalars(select(WorkItem).where(WorkItem.case_id == case_id)).all()


def test_a_deceased_applicant_is_never_approved_unattended(mca: tuple[City, Principal]) -> None:
    city, clerk = mca
    senior = _person(city, senior=True)
    letter = _letter(city, senior)
    case_id = _apply_at_counter(city, clerk, senior, letter)
    with city.db.transaction() as s:
        person = s.scalar(select(Person).where(Person.id_number == senior))
        assert person is not None
        person.status = PersonStatus.DECEASED  # the registry learns of the death before the pre-review runs
    case, review = _reviewed(city, case_id)
    assert review.outcome == PreReviewOutcome.REFUSAL_SUGGESTED and case.status == CaseStatus.SUBMITTED
    assert any(r["rule"] == "registry.applicant_active" and r["outcome"] == "fail" for r in review.reasons)


def test_no_transaction_is_open_while_the_uploads_are_read(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    """The consumer reads the case in one short session, closes it, recognises the letter with no
    connection checked out, and only then locks the case in a new transaction that re-checks its
    state: a clerk withdrawing the case while its letter is being recognised is not blocked (on
    SQLite a held transaction is the one write lock, on PostgreSQL the case's row lock), and the
    withdrawn case is then left alone (both backends; the OCR is real)."""
    clerk = _clerk(city)
    senior = _person(city, senior=True)
    case_id = _apply_at_counter(city, clerk, senior, _letter(city, senior))
    monkeypatch.setattr(prereview, "_memo", OrderedDict())  # read now, not from an earlier test's memo
    seen: list[int] = []

    class Watching(RapidOcrEngine):
        """The real engine, looking at the database from inside the recogniser."""

        def recognise(self, image: Image.Image) -> OcrResult:
            if not seen:
                pool = city.db.engine.pool
                assert isinstance(pool, QueuePool)  # both backends' engines pool their connections
                seen.append(pool.checkedout())
                with city.db.transaction() as s:
                    if city.db.dialect == "postgresql":  # fail, not hang, if the pre-review held the row
                        s.execute(text("SET LOCAL lock_timeout = '10s'"))
                    service.withdraw(s, clerk, case_id, "申请人撤回 / the applicant withdraws")
            return super().recognise(image)

    with Reader(Watching) as reader:
        monkeypatch.setattr(pipeline, "_shared", reader)
        consumers.deliver_pending(city.db)
    assert seen == [0], "a connection was checked out while the page was recognised"
    with city.db.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.WITHDRAWN
        assert advice.latest(s, case_id) is None  # the transaction after OCR saw the withdrawal
        assert s.scalars(select(ProcessedMessage).where(ProcessedMessage.consumer == "services.prereview")).first()


def test_a_review_in_a_transaction_never_recognises_an_upload(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    """An upload with no reading made before the transaction (a redelivery in another process) is
    reported as not read, for an officer — never recognised with the case locked, never approved
    unattended."""
    clerk = _clerk(city)
    senior = _person(city, senior=True)
    case_id = _apply_at_counter(city, clerk, senior, _letter(city, senior))
    monkeypatch.setattr(prereview, "_memo", OrderedDict())
    with Reader(_refuses_to_recognise) as reader:
        monkeypatch.setattr(pipeline, "_shared", reader)
        with city.db.transaction() as s:
            review = prereview.prereview(s, case_id)
            assert review.outcome == PreReviewOutcome.PRE_APPROVED and not review.acted
            [unread] = [r for r in review.reasons if r["rule"] == "document.unread"]
            assert unread["material"] == "application_letter" and "not read before" in unread["message"]


def _refuses_to_recognise() -> RapidOcrEngine:
    raise AssertionError("a page was recognised inside the pre-review's transaction")


def test_conclude_never_approves_unattended_on_a_medium_risk_or_an_unread_upload() -> None:
    """The rule itself, without OCR: only low risk, nothing unread, eligible, on an unattended item."""
    from onecity.documents.rules import Decision
    from onecity.services import catalogue

    senior = catalogue.item(SENIOR_CARD)
    food = catalogue.item(FOOD)
    eligible = Decision("senior_citizen_card", {"eligible": True, "reason": "ok"}, ("r1",))
    assert (
        prereview.conclude(senior, [], unread=[], eligibility=eligible, changed=[]).outcome
        == PreReviewOutcome.APPROVE_UNATTENDED
    )
    assert (
        prereview.conclude(senior, [], unread=["photo"], eligibility=eligible, changed=[]).outcome
        == PreReviewOutcome.PRE_APPROVED
    )
    assert (
        prereview.conclude(senior, [], unread=[], eligibility=eligible, changed=["applicant_name"]).outcome
        == PreReviewOutcome.PRE_APPROVED
    )
    assert (
        prereview.conclude(senior, [], unread=[], eligibility=None, changed=[]).outcome == PreReviewOutcome.PRE_APPROVED
    )
    assert (
        prereview.conclude(food, [], unread=[], eligibility=None, changed=[]).outcome == PreReviewOutcome.PRE_APPROVED
    )


def test_over_http_the_server_pre_reviews_after_answering(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    """The submit request answers at once; the server's own relay and consumer read the letter and
    approve the case unattended a moment later (both backends)."""
    _clerk(city)
    senior = _person(city, senior=True)
    h = login("mca.clerk")
    r = client.post(
        "/api/v1/services/cases",
        headers=h,
        json={"item_code": SENIOR_CARD, "id_number": senior, "identity_checked": True},
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    letter = base64.b64encode(_letter(city, senior)).decode()
    r = client.post(
        f"/api/v1/services/cases/{case_id}/documents",
        headers=h,
        json={
            "material_code": "application_letter",
            "filename": "letter.png",
            "content_type": "image/png",
            "content_base64": letter,
        },
    )
    assert r.status_code == 201, r.text
    submitted = client.post(f"/api/v1/services/cases/{case_id}/submit", headers=h)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        case = client.get(f"/api/v1/services/cases/{case_id}", headers=h).json()
        if case["status"] != "submitted":
            break
        time.sleep(0.25)
    assert case["status"] == "approved", case["status"]
    actions = [(e["actor"], e["action"]) for e in case["history"]]
    assert actions.index(("system:services:prereview", "prereviewed")) < actions.index(
        ("system:services:unattended", "task_decide")
    )
