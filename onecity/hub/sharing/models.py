"""Sharing requests. An approved request becomes an :class:`~onecity.core.grants.AccessGrant`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core.db import Base, IdMixin, TimestampMixin
from onecity.hub.registries.models import BigId


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"


class ShareRequest(IdMixin, TimestampMixin, Base):
    __tablename__ = "share_requests"

    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    requester_agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(120))
    #: The area whose records are asked for (must lie in the dataset's coverage).
    scope_division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"))
    fields: Mapped[list[str]] = mapped_column(JSON)
    #: Fields asked for in clear; the rest of ``fields`` is shared masked.
    unmasked_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(Text)
    valid_until: Mapped[datetime]
    status: Mapped[RequestStatus] = mapped_column(String(12), index=True, default=RequestStatus.PENDING)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    grant_id: Mapped[str | None] = mapped_column(ForeignKey("access_grants.id"))


class ResidentLink(TimestampMixin, Base):
    """A citizen's account linked to their natural-person record, after their identity was checked.

    Kept beside the users table rather than in it: the core knows nothing of the hub's
    registries, and a link is itself a fact worth auditing (who verified whom, when). One
    account per person and one person per account.
    """

    __tablename__ = "resident_links"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("persons.id"), unique=True)
    linked_by: Mapped[str] = mapped_column(String(120))
