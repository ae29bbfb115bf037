"""Keeps credentials consistent with the hub, and tells holders what they received.

The registry (``hub.certificate.revoked``) does not know credentials exist; a consumer here
does the rest, once per event (the consumer inbox), as the credentials part's own system
principal, so the audit log says who acted and why. Another tells the holder (a person, or a
firm's legal representative) in their inbox, and by e-mail when they gave an address, that a
credential was issued to them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import notify
from onecity.core.bus.consumers import consumer
from onecity.core.events import Envelope
from onecity.core.identity.principal import system_principal
from onecity.credentials import service
from onecity.credentials.events import CREDENTIAL_ISSUED
from onecity.credentials.i18n import MESSAGES
from onecity.hub.registries.events import CERTIFICATE_REVOKED
from onecity.hub.registries.models import CertificateType, HolderKind, LegalPerson

PRINCIPAL = system_principal("credentials")


@consumer("credentials.revoke-with-certificate", CERTIFICATE_REVOKED)
def revoke_with_certificate(session: Session, envelope: Envelope) -> None:
    revoked = envelope.typed(CERTIFICATE_REVOKED)
    service.revoke_for_certificate(
        session, PRINCIPAL, revoked.certificate_id, f"certificate revoked in the registry: {revoked.reason}"
    )


@consumer("credentials.notify-issued", CREDENTIAL_ISSUED)
def notify_holder_of_issue(session: Session, envelope: Envelope) -> None:
    """Tell the holder's linked account (a firm's: its legal representative's) that a credential was issued."""
    issued = envelope.typed(CREDENTIAL_ISSUED)
    person_id: int | None = issued.holder_id
    if issued.holder_kind == HolderKind.LEGAL_PERSON:
        person_id = session.scalar(select(LegalPerson.legal_rep_id).where(LegalPerson.id == issued.holder_id))
    elif issued.holder_kind != HolderKind.PERSON:
        return
    ctype = session.get(CertificateType, issued.type_code)
    names = {"zh": ctype.name if ctype else issued.type_code, "en": ctype.name_en if ctype else issued.type_code}
    values = {lang: {"type": names["zh" if lang == "zh" else "en"]} for lang in notify.LANGUAGES}
    notify.notify_person(  # no account: the certificate is collected at the counter
        session,
        PRINCIPAL,
        person_id,
        kind=CREDENTIAL_ISSUED.name,
        text=notify.text_from(MESSAGES, "credentials.notify.issued.title", "credentials.notify.issued.body", values),
        link=f"/credentials/{issued.credential_id}",
    )
