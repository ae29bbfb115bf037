"""What identity tells the rest of the platform: agencies and users created or changed, API keys
created or revoked, access grants given or taken back."""

from __future__ import annotations

from pydantic import BaseModel

from onecity.core import events


class AgencyCreated(BaseModel):
    agency_id: str
    code: str
    division_code: str


class UserCreated(BaseModel):
    user_id: str
    username: str
    kind: str
    roles: list[str]
    division_code: str | None


class UserUpdated(BaseModel):
    user_id: str
    changes: list[str]


class ApiKeyCreated(BaseModel):
    api_key_id: str
    name: str
    scopes: list[str]


class ApiKeyRevoked(BaseModel):
    api_key_id: str


class GrantChanged(BaseModel):
    grant_id: str
    resource: str
    scope_division_code: str
    revoked: bool


AGENCY_CREATED = events.event_type("core.agency.created", AgencyCreated)
USER_CREATED = events.event_type("core.user.created", UserCreated)
USER_UPDATED = events.event_type("core.user.updated", UserUpdated)
APIKEY_CREATED = events.event_type("core.apikey.created", ApiKeyCreated)
APIKEY_REVOKED = events.event_type("core.apikey.revoked", ApiKeyRevoked)
GRANT_CHANGED = events.event_type("core.grant.changed", GrantChanged)
