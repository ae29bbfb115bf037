"""What sharing tells other parts: a request was made or decided, a grant revoked, a resident linked to their record."""

from __future__ import annotations

from pydantic import BaseModel

from onecity.core import events


class ShareChanged(BaseModel):
    request_id: str
    dataset_code: str
    requester_agency_id: str
    status: str
    grant_id: str | None


SHARE_REQUESTED = events.event_type("hub.share.requested", ShareChanged)
SHARE_APPROVED = events.event_type("hub.share.approved", ShareChanged)
SHARE_REFUSED = events.event_type("hub.share.refused", ShareChanged)
SHARE_WITHDRAWN = events.event_type("hub.share.withdrawn", ShareChanged)
SHARE_REVOKED = events.event_type("hub.share.revoked", ShareChanged)


class ResidentLinked(BaseModel):
    user_id: str
    person_id: int


RESIDENT_LINKED = events.event_type("hub.resident.linked", ResidentLinked)
