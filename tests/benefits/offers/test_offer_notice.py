"""An offer reaches the resident's inbox through ``benefits.notify-offer``, once; a resident without an
account is told nothing (both backends, on the services tests' seeded city)."""

from __future__ import annotations

from sqlalchemy import select

from onecity.benefits.consumers import notify_resident_of_offer
from onecity.benefits.models import BenefitOffer
from onecity.core import notify
from onecity.core.bus.consumer import process_once
from onecity.core.events import Envelope, OutboxMessage, envelope_of
from onecity.core.notify.models import Notification
from tests.benefits.offers.test_offers import in_xuhui, offered, resident_for
from tests.services.conftest import City


def _made(city: City, offer: BenefitOffer) -> Envelope:
    with city.db.sessions() as s:
        row = s.scalars(
            select(OutboxMessage).where(
                OutboxMessage.event_type == "benefits.offer.made",
                OutboxMessage.payload["offer_id"].as_string() == offer.id,
            )
        ).one()
        return envelope_of(row)


def test_the_resident_is_told_of_an_offer_once_in_both_languages(city: City) -> None:
    offer = in_xuhui(city.db, offered(city.db))
    resident = resident_for(city.db, offer.subject_id)
    envelope = _made(city, offer)
    for _ in range(2):  # a redelivery adds nothing
        process_once(city.db, "benefits.notify-offer", notify_resident_of_offer, envelope)
    with city.db.sessions() as s:
        [note] = notify.inbox(s, resident)
    assert note.kind == "benefits.offer.made" and note.link == "/benefits/offers"
    assert note.text["zh"]["title"] == "您有一项惠民政策待确认" and f"{offer.amount:,.2f}" in note.text["zh"]["body"]
    assert note.text["en"]["title"] == "A benefit awaits your confirmation"


def test_a_resident_without_an_account_is_told_nothing(city: City) -> None:
    offer = in_xuhui(city.db, offered(city.db))
    with city.db.sessions() as s:
        before = set(s.scalars(select(Notification.id)))
    process_once(city.db, "benefits.notify-offer", notify_resident_of_offer, _made(city, offer))
    with city.db.sessions() as s:
        assert set(s.scalars(select(Notification.id))) == before
