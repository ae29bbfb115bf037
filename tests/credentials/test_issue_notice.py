"""An issued credential reaches its holder's inbox through ``credentials.notify-issued``, once; a firm's
credential reaches its legal representative; a holder without an account gets nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from onecity.core import notify
from onecity.core.bus.consumer import process_once
from onecity.core.events import Envelope, OutboxMessage, envelope_of
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind
from onecity.core.notify.models import Notification
from onecity.credentials import service
from onecity.credentials.consumers import notify_holder_of_issue
from onecity.hub.registries.models import Certificate
from onecity.hub.sharing.service import link_resident
from tests.conftest import SYSTEM
from tests.credentials.conftest import APPROVER, Registry


def _issued(registry_db: Registry, certificate_id: int) -> tuple[str, Envelope]:
    with registry_db.db.transaction() as s:
        cred = service.issue_for_certificate(s, APPROVER, certificate_id)
    with registry_db.db.sessions() as s:
        row = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.event_type == "credentials.credential.issued",
                OutboxMessage.payload["credential_id"].as_string() == cred.id,
            )
        ).one()
        return cred.id, envelope_of(row)


def test_the_firms_representative_is_told_once_in_both_languages(
    registry_db: Registry, make_certificate: Callable[..., Certificate], make_user: Callable[..., Any]
) -> None:
    user = make_user("xiaomei", kind=PrincipalKind.CITIZEN, division_code=None)
    with registry_db.db.transaction() as s:
        link_resident(s, SYSTEM, username="xiaomei", id_number=registry_db.person.id_number)
    cred_id, envelope = _issued(registry_db, make_certificate().id)  # the firm's food business licence
    for _ in range(2):  # a redelivery adds nothing
        process_once(registry_db.db, "credentials.notify-issued", notify_holder_of_issue, envelope)
    holder = Principal(kind=PrincipalKind.CITIZEN, id=user.id, name="xiaomei")
    with registry_db.db.sessions() as s:
        [note] = notify.inbox(s, holder)
    assert note.kind == "credentials.credential.issued" and note.link == f"/credentials/{cred_id}"
    assert note.text["zh"]["title"] == "您的电子证照“食品经营许可证”已签发"
    assert "我的电子证照" in note.text["zh"]["body"]
    assert note.text["en"]["title"].startswith("Your e-certificate “")
    assert "My e-certificates" in note.text["en"]["body"]
    assert "食品" not in note.text["en"]["title"]  # the type's English name on the English side


def test_a_holder_without_an_account_is_told_nothing(
    registry_db: Registry, make_certificate: Callable[..., Certificate]
) -> None:
    _, envelope = _issued(registry_db, make_certificate().id)
    process_once(registry_db.db, "credentials.notify-issued", notify_holder_of_issue, envelope)
    with registry_db.db.sessions() as s:
        assert s.scalar(select(Notification.id)) is None
