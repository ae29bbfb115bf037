"""Signing keys, status lists and issued credentials.

Private keys never leave the database in clear: each is sealed with AES-256-GCM under a key
derived from the platform's secret (:mod:`onecity.credentials.keys`). A status list keeps
its bitstring as raw bytes (16 KiB for 131,072 entries) and a version that changes with
every bit, so a signed copy can be cached until it changes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core.db import Base, IdMixin
from onecity.hub.registries.models import BigId


class CredentialStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


class StatusPurpose(StrEnum):
    """Bitstring Status List v1.0 purposes this issuer uses: revocation is final, suspension is not."""

    REVOCATION = "revocation"
    SUSPENSION = "suspension"


class SigningKey(Base):
    """An Ed25519 key of the issuer; retired keys stay published so older credentials still verify."""

    __tablename__ = "credential_signing_keys"

    #: RFC 7638 JWK thumbprint of the public key (the JWS ``kid``).
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: base64url(nonce || AES-256-GCM ciphertext) of the raw 32-byte private key.
    sealed_private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(120))
    retired_at: Mapped[datetime | None]
    #: A withdrawn key (leaked, compromised) leaves the JWKS: what it signed no longer verifies.
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(String(300))
    #: 1 for the one key that signs now, NULL for retired keys: the unique index keeps it one.
    current: Mapped[int | None] = mapped_column(Integer, unique=True)


class KeyChangeRequest(IdMixin, Base):
    """A request to withdraw a signing key, waiting for a second city administrator (four eyes).

    Withdrawing a key makes every credential it signed stop verifying across the city, so one
    person's word is not enough: a city administrator asks, a different one approves (or
    refuses), and only the approval withdraws the key.
    """

    __tablename__ = "credential_key_requests"

    #: ``withdraw`` (the only action that needs a second person; see docs/credentials.md).
    action: Mapped[str] = mapped_column(String(16))
    kid: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    #: ``approved`` or ``refused``; NULL while pending.
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(300))


class StatusList(Base):
    """One Bitstring Status List (one purpose), published as a signed status list credential."""

    __tablename__ = "credential_status_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    purpose: Mapped[StatusPurpose] = mapped_column(String(12), index=True)
    #: Number of entries (bits); at least 131,072 as the specification asks, for group privacy.
    size: Mapped[int] = mapped_column(Integer)
    #: Deferred: allocating an entry locks the row but needs only the counters, not the 16 KiB.
    bits: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    #: No new entries once this many are allocated (random indices need free room to land in).
    capacity: Mapped[int] = mapped_column(Integer)
    full: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Credential(Base):
    """A credential issued for one registry certificate, with its two status-list entries."""

    __tablename__ = "credentials"

    #: A random UUID: the credential's ``id`` is ``urn:uuid:<this>`` and its verify link ``/verify/<this>``.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    certificate_id: Mapped[int] = mapped_column(BigId, ForeignKey("certificates.id"), index=True)
    type_code: Mapped[str] = mapped_column(String(40))
    holder_kind: Mapped[str] = mapped_column(String(12))
    holder_id: Mapped[int] = mapped_column(BigId)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    kid: Mapped[str] = mapped_column(ForeignKey("credential_signing_keys.kid"))
    jwt: Mapped[str] = mapped_column(Text)
    status: Mapped[CredentialStatus] = mapped_column(String(10), default=CredentialStatus.ACTIVE)
    revocation_list_id: Mapped[int] = mapped_column(ForeignKey("credential_status_lists.id"))
    revocation_index: Mapped[int] = mapped_column(Integer)
    suspension_list_id: Mapped[int] = mapped_column(ForeignKey("credential_status_lists.id"))
    suspension_index: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime | None]
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(120))
    status_changed_at: Mapped[datetime | None]
    status_reason: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        UniqueConstraint("revocation_list_id", "revocation_index", name="uq_credentials_revocation_entry"),
        UniqueConstraint("suspension_list_id", "suspension_index", name="uq_credentials_suspension_entry"),
        Index("ix_credentials_holder", "holder_kind", "holder_id"),
    )
