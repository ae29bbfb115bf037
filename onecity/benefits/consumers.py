"""Offers follow life events (issue 18): re-decided for just the people and firms an event touched.

A birth, a death, a change of address, a new firm or a closed one arrives from the registries
as an event through the outbox; each consumer re-decides every policy of that subject kind
for that one record (:func:`onecity.benefits.offers.refresh` restricted to it), so an offer
is made or withdrawn within moments, never by rescanning the city. Birthdays have no event:
the ``benefits.birthdays`` task re-decides, once a day, those whose age crossed a table's
threshold that day (:func:`onecity.benefits.offers.birthdays`). Running any of them twice
changes nothing the second time (one live offer per policy and subject).
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy.orm import Session

from onecity.benefits import offers
from onecity.benefits.events import OFFER_MADE
from onecity.benefits.facts import Subject
from onecity.benefits.i18n import MESSAGES
from onecity.benefits.models import BenefitOffer
from onecity.core import clock, notify
from onecity.core.bus.consumers import consumer
from onecity.core.events import Envelope
from onecity.core.identity.principal import system_principal
from onecity.core.tasks import TaskContext
from onecity.hub.registries.events import FIRM_CLOSED, FIRM_REGISTERED, PERSON_BORN, PERSON_DIED, PERSON_MOVED

log = logging.getLogger(__name__)


def _refresh(session: Session, subject: Subject, record_id: int) -> None:
    done = offers.refresh_all(session, offers.AGENT, clock.today(), subject=subject, ids=[record_id])
    made, withdrawn = sum(len(r.made) for r in done), sum(len(r.withdrawn) for r in done)
    if made or withdrawn:
        log.info("%s %s: %d offered, %d withdrawn", subject.value, record_id, made, withdrawn)


@consumer("benefits.person_born", PERSON_BORN)
def person_born(session: Session, envelope: Envelope) -> None:
    _refresh(session, Subject.PERSON, envelope.typed(PERSON_BORN).person_id)


@consumer("benefits.person_died", PERSON_DIED)
def person_died(session: Session, envelope: Envelope) -> None:
    _refresh(session, Subject.PERSON, envelope.typed(PERSON_DIED).person_id)


@consumer("benefits.person_moved", PERSON_MOVED)
def person_moved(session: Session, envelope: Envelope) -> None:
    _refresh(session, Subject.PERSON, envelope.typed(PERSON_MOVED).person_id)


@consumer("benefits.firm_registered", FIRM_REGISTERED)
def firm_registered(session: Session, envelope: Envelope) -> None:
    _refresh(session, Subject.FIRM, envelope.typed(FIRM_REGISTERED).legal_person_id)


@consumer("benefits.firm_closed", FIRM_CLOSED)
def firm_closed(session: Session, envelope: Envelope) -> None:
    _refresh(session, Subject.FIRM, envelope.typed(FIRM_CLOSED).legal_person_id)


_done: dict[str, date] = {}


def run(ctx: TaskContext) -> int:
    """The server's ``benefits.birthdays`` task: once a Shanghai day, the day's birthdays and anniversaries."""
    today = clock.today()
    if _done.get("birthdays") == today:
        return 0
    with ctx.db.transaction() as session:
        done = offers.birthdays(session, offers.AGENT, today)
    _done["birthdays"] = today
    return sum(len(r.made) + len(r.withdrawn) for r in done)


NOTIFIER = system_principal("benefits:notify")


@consumer("benefits.notify-offer", OFFER_MADE)
def notify_resident_of_offer(session: Session, envelope: Envelope) -> None:
    """Tell the resident an offer awaits them (their inbox, and e-mail when they gave an address)."""
    made = envelope.typed(OFFER_MADE)
    offer = session.get(BenefitOffer, made.offer_id)
    if offer is None:
        return
    values = {lang: {"amount": f"{made.amount:,.2f}"} for lang in notify.LANGUAGES}
    notify.notify_person(
        session,
        NOTIFIER,
        offer.person_id,
        kind=OFFER_MADE.name,
        text=notify.text_from(MESSAGES, "notify.offer.title", "notify.offer.body", values),
        link="/benefits/offers",
    )
