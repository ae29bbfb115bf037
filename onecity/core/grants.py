"""Access grants: sharing across divisions and agencies is a grant, not a copy.

A grant lets an agency (or every staff member of a division) read one kind of record in
another division's area, for a stated purpose, until it expires or is revoked. The data
hub extends grants with field lists and masking; the policy reads them when it builds a
query's division scope.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from onecity.core.db import Base, IdMixin, TimestampMixin


class AccessGrant(IdMixin, TimestampMixin, Base):
    __tablename__ = "access_grants"

    #: What may be read, e.g. ``core.user`` or ``hub.person``.
    resource: Mapped[str] = mapped_column(String(60), index=True)
    #: The area whose records become visible.
    scope_division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"))
    grantee_agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    grantee_division_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"), index=True)
    #: Fields granted (None: all the resource's fields); the hub applies masking rules per field.
    fields: Mapped[list[str] | None] = mapped_column(JSON)
    #: Granted fields that may be read in clear; every other granted personal field is masked.
    unmasked_fields: Mapped[list[str] | None] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(200))
    granted_by: Mapped[str] = mapped_column(String(120))
    valid_until: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
