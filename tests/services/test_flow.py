"""The done-when of issue 4: exemptions, approval issuing a credential, one history across channels, restart."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.errors import Conflict, InvalidInput, PermissionDenied
from onecity.core.events import OutboxMessage
from onecity.core.identity.principal import Principal
from onecity.credentials import keys
from onecity.credentials import service as credentials
from onecity.credentials.models import Credential
from onecity.hub.registries.models import Certificate
from onecity.services import service
from onecity.services.models import CaseStatus, WorkItem
from tests.services.conftest import FOOD, PDF, SECRET, City, food_case_ready


def _work(city: City, principal: Principal, case_id: str) -> WorkItem:
    with city.db.transaction() as s:
        items = [w for w, c in service.work_queue(s, principal) if c.id == case_id]
    assert len(items) == 1, items
    return items[0]


def test_business_licence_is_not_asked_for_and_approval_issues_a_credential(city: City) -> None:
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, FOOD, uscc=city.firm.uscc)
        held = {m["code"]: m for m in case.materials if m["state"] == "held"}
        missing = {m["code"] for m in service.missing_materials(case)}
        # the business licence on file stands in for the upload, with its source shown
        assert held["business_licence"]["source"] == "cert:business_licence"
        assert "business_licence" not in missing and "legal_rep_id" in held
        assert missing == {"lease_contract", "floor_plan", "food_safety_rules", "food_safety_officer"}
        assert case.form["uscc"] == city.firm.uscc and case.prefill["uscc"] == "firm.uscc"
        assert case.prefill["business_licence_no"] == "cert.business_licence.number"
        assert case.fields_prefilled >= 6
        with pytest.raises(Conflict, match="already held"):
            service.attach_document(
                s,
                city.resident,
                case.id,
                "business_licence",
                filename="bl.pdf",
                content_type="application/pdf",
                content=PDF,
            )
        # submitting with materials missing tells everything at once
        with pytest.raises(InvalidInput, match="all at once") as err:
            service.submit(s, city.resident, case.id)
    assert set(err.value.extra["missing"]) == missing
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        assert service.submit(s, city.resident, case_id).status == CaseStatus.SUBMITTED
    accept = _work(city, city.clerk, case_id)
    assert accept.role == "counter_clerk" and accept.department == "sh-samr"
    with city.db.transaction() as s:
        service.complete_task(s, city.clerk, accept.id, "accept")
    with city.db.transaction() as s:  # the approver cannot review
        review = _work(city, city.reviewer, case_id)
        with pytest.raises(PermissionDenied):
            service.complete_task(s, city.approver, review.id, "pass")
    with city.db.transaction() as s:
        service.complete_task(s, city.reviewer, review.id, "pass")
    decide = _work(city, city.approver, case_id)
    with city.db.transaction() as s:
        case = service.complete_task(s, city.approver, decide.id, "approve")
        assert case.status == CaseStatus.APPROVED and case.within_limit is True
        cert = s.get(Certificate, case.certificate_id)
        cred = s.get(Credential, case.credential_id)
    assert cert is not None and cert.type_code == "food_business_licence" and cert.holder_id == city.firm.id
    assert cred is not None and cred.certificate_id == cert.id and cred.jwt.count(".") == 2
    # the credential checks as active; revoked, it checks as revoked; one byte changed, it fails
    with city.db.transaction() as s:
        assert credentials.verify(s, cred.jwt).status == "active"
        credentials.change_status(s, city.approver, cred.id, "revoked", "premises closed after inspection")
    with city.db.transaction() as s:
        checked = credentials.verify(s, cred.jwt)
        assert checked.status == "revoked" and not checked.valid
        head, body, sig = cred.jwt.split(".")
        tampered = credentials.verify(s, f"{head}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{sig}")
        assert not tampered.valid
    # the exemption loop closes: the next application finds the new licence
    with city.db.transaction() as s:
        nxt = service.start_case(s, city.resident, "310000-01-00141-001", uscc=city.firm.uscc)
        service.start_case(s, city.resident, FOOD, uscc=city.firm.uscc)
        assert any(m["state"] == "held" for m in nxt.materials)
        food = service.start_case(s, city.resident, "310000-20-00083-001", uscc=city.firm.uscc)
        assert food.prefill.get("business_licence_no") == "cert.business_licence.number"
    with city.db.sessions() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
        kinds = set(s.scalars(select(OutboxMessage.event_type)))
    assert {
        "services.case.submitted",
        "services.case.task_decide",
        "hub.certificate.issued",
        "credentials.credential.issued",
        "hub.registry.certificate.read",
    } <= actions
    assert {"services.case.submitted", "services.case.decided", "hub.certificate.issued"} <= kinds


def test_online_case_continued_at_the_counter_has_one_history(city: City) -> None:
    with city.db.transaction() as s:
        case = service.start_case(s, city.resident, FOOD, uscc=city.firm.uscc)
        case_id = case.id
    # the resident cannot finish online; at the counter the clerk finds the case by ID and scans the rest
    with city.db.transaction() as s:
        found = service.cases_of_person(s, city.clerk, city.rep.id_number)
        assert case_id in [c.id for c in found]
        for m in service.missing_materials(service.get_case(s, city.clerk, case_id)):
            service.attach_document(
                s, city.clerk, case_id, m["code"], filename="scan.pdf", content_type="application/pdf", content=PDF
            )
        service.update_form(s, city.clerk, case_id, {"business_items": "冷食类食品制售", "floor_area_m2": 40})
        service.submit(s, city.clerk, case_id)
    # a clerk of another district may not touch it
    with city.db.transaction() as s, pytest.raises(PermissionDenied):
        service.update_form(s, city.huangpu_clerk, case_id, {"seats": 3})
    accept = _work(city, city.clerk, case_id)
    with city.db.transaction() as s:
        service.complete_task(
            s, city.clerk, accept.id, "supplement", reason="平面图缺少厨房布局", missing=["floor_plan"]
        )
    # ... and the resident supplements online
    with city.db.transaction() as s:
        case = service.get_case(s, city.resident, case_id)
        assert case.status == CaseStatus.SUPPLEMENT and case.supplements == 1
        assert [m["code"] for m in service.missing_materials(case)] == ["floor_plan"]
        service.attach_document(
            s,
            city.resident,
            case_id,
            "floor_plan",
            filename="plan-v2.pdf",
            content_type="application/pdf",
            content=PDF + b"v2",
        )
        service.resubmit(s, city.resident, case_id)
        history = service.history(s, service.get_case(s, city.resident, case_id))
    channels = [(e.action, e.channel) for e in history]
    assert channels[0] == ("drafted", "online")
    assert ("submitted", "counter") in channels and ("material_added", "counter") in channels
    assert ("task_accept", "counter") in channels and channels[-1] == ("supplemented", "online")
    # an account not linked to a person record sees no case
    stranger = dataclasses.replace(city.resident, id="someone-else")
    with city.db.transaction() as s, pytest.raises(PermissionDenied, match="not linked"):
        service.get_case(s, stranger, case_id)


def test_workflow_survives_a_restart(city: City) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    accept = _work(city, city.clerk, case_id)
    with city.db.transaction() as s:
        service.complete_task(s, city.clerk, accept.id, "accept")
    url = city.db.url
    city.db.dispose()
    # a new process: new Database, nothing in memory but the package
    fresh = Database(url)
    keys.use_secret(fresh, SECRET)
    try:
        city.db = fresh
        review = _work(city, city.reviewer, case_id)
        assert review.task_name == "review"
        with fresh.transaction() as s:
            service.complete_task(s, city.reviewer, review.id, "pass")
        decide = _work(city, city.approver, case_id)
        with fresh.transaction() as s:
            case = service.complete_task(
                s, city.approver, decide.id, "refuse", reason="经营场所与住宅楼相邻，油烟排放不符合要求"
            )
            assert case.status == CaseStatus.REFUSED and "食品安全法" in (case.legal_basis or "")
            assert case.certificate_id is None
    finally:
        fresh.dispose()
