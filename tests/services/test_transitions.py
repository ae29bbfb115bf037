"""Every step of a case goes through the transition helper: an audit entry from → to, and an event
(withdrawing, accepting and reviewing published none before); a step its state does not allow is
refused in the reader's language and writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from onecity.core.audit import AuditEntry
from onecity.core.errors import Conflict
from onecity.core.events import OutboxMessage
from onecity.core.identity.principal import Principal
from onecity.services import service
from onecity.services.events import CASE_ACCEPTED, CASE_REVIEWED, CASE_WITHDRAWN
from onecity.services.models import WorkItem
from onecity.web import i18n
from tests.services.conftest import City, food_case_ready


def _events(city: City, name: str, case_id: str) -> list[OutboxMessage]:
    with city.db.sessions() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == name)).all()
    return [m for m in rows if m.payload["case_id"] == case_id]


def _audit(city: City, action: str, case_id: str) -> AuditEntry:
    with city.db.sessions() as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.action == action, AuditEntry.object_id == case_id)).one()


def _task(city: City, principal: Principal, case_id: str) -> WorkItem:
    with city.db.transaction() as s:
        (item,) = [w for w, c in service.work_queue(s, principal) if c.id == case_id]
    return item


def test_withdrawing_publishes_and_a_second_withdrawal_is_a_conflict_in_words(city: City) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    with city.db.transaction() as s:
        service.withdraw(s, city.resident, case_id, "moved the restaurant elsewhere")
    (msg,) = _events(city, CASE_WITHDRAWN.name, case_id)
    assert msg.payload["previous"] == "submitted" and msg.payload["status"] == "withdrawn"
    assert msg.payload["channel"] == "online" and msg.reason == "moved the restaurant elsewhere"
    entry = _audit(city, "services.case.withdrawn", case_id)
    assert entry.detail["from"] == "submitted" and entry.detail["to"] == "withdrawn"
    assert entry.subject == f"person:{city.rep.id}"

    with city.db.sessions() as s:
        written = s.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(Conflict) as caught, city.db.transaction() as s:
        service.withdraw(s, city.resident, case_id, "again")
    assert "is withdrawn; only a case that is draft or submitted" in caught.value.detail
    assert "当前为「已撤回」" in i18n.say("zh", caught.value)
    assert "is Withdrawn: this can be done only while it is Draft or Awaiting acceptance" in i18n.say(
        "en", caught.value
    )
    with city.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == written
    assert len(_events(city, CASE_WITHDRAWN.name, case_id)) == 1


def test_accepting_and_reviewing_publish_with_the_status_they_left_and_reached(city: City) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    accept = _task(city, city.clerk, case_id)
    with city.db.transaction() as s:
        service.complete_task(s, city.clerk, accept.id, "accept")
    (accepted,) = _events(city, CASE_ACCEPTED.name, case_id)
    assert (accepted.payload["previous"], accepted.payload["status"], accepted.payload["outcome"]) == (
        "submitted",
        "in_review",
        "accept",
    )
    assert accepted.actor == city.clerk.ref
    entry = _audit(city, "services.case.task_accept", case_id)
    assert (entry.detail["from"], entry.detail["to"], entry.detail["channel"]) == ("submitted", "in_review", "counter")

    review = _task(city, city.reviewer, case_id)
    with city.db.transaction() as s:
        service.complete_task(s, city.reviewer, review.id, "fail", reason="the floor plan shows no exit")
    (reviewed,) = _events(city, CASE_REVIEWED.name, case_id)
    assert reviewed.payload["outcome"] == "fail" and reviewed.reason == "the floor plan shows no exit"
    assert reviewed.payload["previous"] == "in_review"


def test_a_case_history_and_its_audit_keep_one_entry_per_step(city: City) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    with city.db.sessions() as s:
        actions = [e.action for e in service.history(s, service.get_case(s, city.resident, case_id))]
        audited = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "services.case.submitted", AuditEntry.object_id == case_id)
        )
    assert actions.count("submitted") == 1 and audited == 1


def test_the_approval_imports_nothing_while_it_holds_the_case_locked() -> None:
    """Deciding a case issues the certificate and signs its credential inside the case's lock; the
    modules that does it are imported with the workflow, not on the first approval (170 ms cold)."""
    import subprocess
    import sys

    code = (
        "import sys, onecity.services.tasks; "
        "print(all(m in sys.modules for m in ('onecity.services.issue', 'onecity.credentials.service', "
        "'onecity.credentials.vc', 'onecity.credentials.keys')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "True"
