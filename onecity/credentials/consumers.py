"""Keeps credentials consistent with the hub: a certificate revoked in the registry revokes its credentials.

The registry (``hub.certificate.revoked``) does not know credentials exist; this consumer
does the rest, once per event (the consumer inbox), as the credentials part's own system
principal, so the audit log says who acted and why.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from onecity.core.bus.consumers import consumer
from onecity.core.events import Envelope
from onecity.core.identity.principal import system_principal
from onecity.credentials import service
from onecity.hub.registries.events import CERTIFICATE_REVOKED

PRINCIPAL = system_principal("credentials")


@consumer("credentials.revoke-with-certificate", CERTIFICATE_REVOKED)
def revoke_with_certificate(session: Session, envelope: Envelope) -> None:
    revoked = envelope.typed(CERTIFICATE_REVOKED)
    service.revoke_for_certificate(
        session, PRINCIPAL, revoked.certificate_id, f"certificate revoked in the registry: {revoked.reason}"
    )
