"""The officer's workbench: a searchable, filtered queue; claiming a task and handing it to a colleague
(audited, through the transition helper); every upload opened from the case and its reading audited;
a decision confirmed once more before it is taken."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.errors import Conflict, InvalidInput, PermissionDenied
from onecity.core.events import OutboxMessage
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import Role
from onecity.services import service
from onecity.services.events import CASE_TASK_ASSIGNED
from onecity.services.models import Case, Document, WorkItem
from tests.conftest import PASSWORD
from tests.services.conftest import XUHUI, City, food_case_ready, staff
from tests.web_support import csrf, sign_in


def _submitted(city: City) -> str:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    return case_id


def _queue(city: City, principal: Principal, **filters: Any) -> list[str]:  # filters as work_queue takes them
    with city.db.transaction() as s:
        return [c.id for _w, c in service.work_queue(s, principal, **filters)]


def _entries(city: City, action: str) -> list[AuditEntry]:
    with city.db.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_the_queue_is_searched_and_filtered(city: City) -> None:
    case_id = _submitted(city)
    with city.db.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        number, name = case.number, case.applicant_name
    clerk = city.clerk
    assert case_id in _queue(city, clerk)
    for q in (name[:2], number[-6:].lower(), "食品经营", "food business"):
        assert _queue(city, clerk, query=q) == [case_id], q
    assert _queue(city, clerk, query="没有这个申请人") == []
    assert _queue(city, clerk, item_code="310000-01-00040-001") == [case_id]
    assert _queue(city, clerk, item_code="310000-20-00081-001") == []
    assert _queue(city, clerk, status="submitted") == [case_id]
    assert _queue(city, clerk, status="in_review") == []
    assert _queue(city, clerk, overdue=True) == []
    assert _queue(city, clerk, assigned="unassigned") == [case_id]
    assert _queue(city, clerk, assigned="me") == []
    assert _queue(city, clerk, limit=1, offset=1) == []
    with pytest.raises(InvalidInput):
        _queue(city, clerk, assigned="everyone")
    with pytest.raises(InvalidInput):
        _queue(city, clerk, status="approved")


def test_a_task_is_claimed_then_handed_to_a_colleague_of_the_department(city: City) -> None:
    case_id = _submitted(city)
    with city.db.transaction() as s:
        colleague = staff(s, "clerk2", "xh-samr", XUHUI, Role.COUNTER_CLERK)
        (task_id,) = [w.id for w, c in service.work_queue(s, city.clerk) if c.id == case_id]
    with city.db.transaction() as s:
        service.claim_task(s, city.clerk, task_id)
    assert _queue(city, city.clerk, assigned="me") == [case_id]
    assert _queue(city, colleague, assigned="unassigned") == []
    (claimed,) = _entries(city, "services.case.task_claimed")
    assert claimed.object_type == "work_item" and claimed.object_id == task_id
    assert claimed.detail["assigned"] == {"from": None, "to": city.clerk.ref}
    assert claimed.detail["from"] == claimed.detail["to"] == "open"
    # the colleague can neither take it nor do it while it is claimed
    with pytest.raises(Conflict), city.db.transaction() as s:
        service.claim_task(s, colleague, task_id)
    with pytest.raises(Conflict), city.db.transaction() as s:
        service.complete_task(s, colleague, task_id, "accept")
    # colleagues are of the task's role, department and area: not another district's clerk
    with city.db.sessions() as s:
        task = s.get(WorkItem, task_id)
        assert task is not None
        names = {u.username for u in service.colleagues(s, city.clerk, task)}
    assert "clerk2" in names and "hpclerk" not in names and "reviewer" not in names and "clerk" not in names
    with pytest.raises(InvalidInput), city.db.transaction() as s:
        service.reassign_task(s, city.clerk, task_id, city.huangpu_clerk.id, "")
    with pytest.raises(InvalidInput), city.db.transaction() as s:
        service.reassign_task(s, city.clerk, task_id, city.reviewer.id, "")
    # taking it from the one who claimed it says why
    with pytest.raises(InvalidInput), city.db.transaction() as s:
        service.reassign_task(s, colleague, task_id, colleague.id, "")
    with city.db.transaction() as s:
        service.reassign_task(s, city.clerk, task_id, colleague.id, "")
    (handed,) = _entries(city, "services.case.task_reassigned")
    assert handed.detail["assigned"] == {"from": city.clerk.ref, "to": colleague.ref}
    with city.db.sessions() as s:
        sent = list(s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == CASE_TASK_ASSIGNED.name)))
    assert [m.payload["assigned_to"] for m in sent] == [city.clerk.ref, colleague.ref]
    with pytest.raises(Conflict), city.db.transaction() as s:
        service.complete_task(s, city.clerk, task_id, "accept")
    with city.db.transaction() as s:
        service.complete_task(s, colleague, task_id, "accept")
        assert s.get_one(Case, case_id).status == "in_review"
    # a done task is claimed by nobody: refused in words
    with pytest.raises(Conflict) as err, city.db.transaction() as s:
        service.claim_task(s, city.clerk, task_id)
    assert err.value.words is not None


def test_uploads_are_opened_by_the_handling_department_and_each_opening_audited(city: City) -> None:
    case_id = _submitted(city)
    with city.db.sessions() as s:
        doc_id = s.scalars(select(Document.id).where(Document.case_id == case_id)).first()
    assert doc_id is not None
    with city.db.transaction() as s:
        assert service.read_document(s, city.clerk, case_id, doc_id).content.startswith(b"%PDF")
    (read,) = _entries(city, "services.case.document_read")
    assert read.object_id == doc_id and read.subject and read.subject.startswith("person:") and read.purpose
    # a reviewer of the fire brigade in the same district does not handle a food licence
    with pytest.raises(PermissionDenied), city.db.transaction() as s:
        service.read_document(s, city.fire_reviewer, case_id, doc_id)
    with pytest.raises(PermissionDenied), city.db.transaction() as s:
        service.read_document(s, city.huangpu_clerk, case_id, doc_id)


def test_the_task_page_shows_every_upload_and_a_decision_is_confirmed(city: City, client: TestClient) -> None:
    case_id = _submitted(city)
    with city.db.sessions() as s:
        uploads = set(s.scalars(select(Document.id).where(Document.case_id == case_id)))
        number = s.get_one(Case, case_id).number
    for user, outcome in (("clerk", "accept"), ("reviewer", "pass")):
        sign_in(client, user, PASSWORD, next_path="/services/work")
        work = client.get("/services/work", params={"q": number})
        task = work.text.split(f'data-case="{number}"')[1].split('href="/services/work/')[1].split('"')[0]
        page = client.get(f"/services/work/{task}")
        assert page.status_code == 200
        table = page.text.split('id="case-documents-table"')[1].split("</table>")[0]
        shown = {d for d in uploads if f'href="/services/cases/{case_id}/documents/{d}"' in table}
        assert uploads and shown == uploads  # every upload has its link
        r = client.post(
            f"/services/work/{task}",
            data={"outcome": outcome, "csrf_token": csrf(page)},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        client.cookies.clear()
    sign_in(client, "approver", PASSWORD, next_path="/services/work")
    work = client.get("/services/work")
    assert 'data-outcome="approve"' not in work.text  # no decision one click from the queue
    task = work.text.split(f'data-case="{number}"')[1].split('href="/services/work/')[1].split('"')[0]
    page = client.get(f"/services/work/{task}")
    asked = client.post(f"/services/work/{task}", data={"outcome": "approve", "csrf_token": csrf(page)})
    assert asked.status_code == 200 and 'id="confirm-panel"' in asked.text and number in asked.text
    with city.db.sessions() as s:
        assert s.get_one(Case, case_id).status == "in_review"
    # the confirmation carries the version of the case it showed: a case changed since is not decided
    shown_version = asked.text.split('name="version" value="')[1].split('"')[0]
    stale = client.post(
        f"/services/work/{task}",
        data={"outcome": "approve", "confirm": "yes", "version": "0" * len(shown_version), "csrf_token": csrf(asked)},
    )
    assert stale.status_code == 412 and "您查看之后，这件办件又有了变化" in stale.text
    done = client.post(
        f"/services/work/{task}",
        data={"outcome": "approve", "confirm": "yes", "version": shown_version, "csrf_token": csrf(asked)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert number in after.text.split('id="work-notice"')[1].split("</div>")[0]
    with city.db.sessions() as s:
        assert s.get_one(Case, case_id).status == "approved"


def test_the_decision_tables_findings_are_said_in_words_never_their_rule_ids() -> None:
    from onecity.services.presentation import decision_words, eligibility_text, reason_text

    assert decision_words("r_young", "zh") == "未满60周岁" and decision_words(["r_young"], "en") == "under 60"
    assert "k_registry" not in decision_words("k_registry,k_failed", "en")
    assert decision_words("k_registry", "zh") == "材料与登记库不符，或证照已失效"
    assert eligibility_text({"decision": "senior_citizen_card", "rules": ["r_permit"]}, "en") == (
        "60 or over, with a valid residence permit"
    )
    bilingual = {"rule": "eligibility.senior_citizen_card", "message": "under 60: 未满60周岁", "decision": "r_young"}
    assert reason_text(bilingual, "en") == "under 60" and reason_text(bilingual, "zh") == "未满60周岁"
