"""What the credentials part tells the rest of the platform."""

from __future__ import annotations

from pydantic import BaseModel

from onecity.core.events import event_type


class CredentialIssued(BaseModel):
    credential_id: str
    certificate_id: int
    type_code: str
    holder_kind: str
    holder_id: int
    division_code: str
    kid: str


class CredentialStatusChanged(BaseModel):
    credential_id: str
    certificate_id: int
    status: str
    previous: str
    division_code: str
    reason: str


CREDENTIAL_ISSUED = event_type("credentials.credential.issued", CredentialIssued)
CREDENTIAL_STATUS_CHANGED = event_type("credentials.credential.status_changed", CredentialStatusChanged)


class SigningKeyChanged(BaseModel):
    """A signing-key step: a withdrawal asked for, approved or refused (four eyes), or a rotation."""

    kid: str
    step: str
    request_id: str | None
    by: str
    reason: str


KEY_WITHDRAWAL_REQUESTED = event_type("credentials.key.withdrawal_requested", SigningKeyChanged)
KEY_WITHDRAWAL_APPROVED = event_type("credentials.key.withdrawal_approved", SigningKeyChanged)
KEY_WITHDRAWAL_REFUSED = event_type("credentials.key.withdrawal_refused", SigningKeyChanged)
KEY_WITHDRAWN = event_type("credentials.key.withdrawn", SigningKeyChanged)
KEY_ROTATED = event_type("credentials.key.rotated", SigningKeyChanged)
