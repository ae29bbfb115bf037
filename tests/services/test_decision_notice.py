"""A decided case reaches the applicant's inbox through the ``services.notify-decided`` consumer, once."""

from __future__ import annotations

from sqlalchemy import select

from onecity.core import notify
from onecity.core.bus.consumer import process_once
from onecity.core.events import OutboxMessage, envelope_of
from onecity.core.identity.principal import Principal
from onecity.services import service
from onecity.services.consumers import notify_applicant_of_decision
from onecity.services.models import WorkItem
from tests.services.conftest import City, food_case_ready


def _work(city: City, principal: Principal, case_id: str) -> WorkItem:
    with city.db.transaction() as s:
        [item] = [w for w, c in service.work_queue(s, principal) if c.id == case_id]
    return item


def test_the_applicant_is_told_of_the_decision_in_both_languages(city: City) -> None:
    case_id = food_case_ready(city)
    with city.db.transaction() as s:
        service.submit(s, city.resident, case_id)
    for who, outcome in ((city.clerk, "accept"), (city.reviewer, "pass"), (city.approver, "approve")):
        item = _work(city, who, case_id)
        with city.db.transaction() as s:
            service.complete_task(s, who, item.id, outcome)
    with city.db.sessions() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "services.case.decided")).one()
        envelope = envelope_of(row)
        number = row.payload["number"]
    for _ in range(2):  # a redelivery adds nothing
        process_once(city.db, "services.notify-decided", notify_applicant_of_decision, envelope)
    with city.db.sessions() as s:
        [note] = notify.inbox(s, city.resident)
        assert notify.unread_count(s, city.resident) == 1
    assert note.kind == "services.case.decided" and note.link == f"/services/cases/{case_id}"
    assert note.text["zh"]["title"] == f"您的办件 {number} 已办结" and "准予许可" in note.text["zh"]["body"]
    assert note.text["en"]["title"] == f"Your case {number} is decided" and "approved" in note.text["en"]["body"]
