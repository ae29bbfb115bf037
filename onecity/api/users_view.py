"""Turning user rows into their public shape (shared by the API and the pages)."""

from __future__ import annotations

from onecity.api.schemas import UserPublic
from onecity.core.identity.callers import Profile
from onecity.core.identity.models import User
from onecity.core.identity.principal import Principal
from onecity.core.identity.service import UserRecord


def user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        kind=str(user.kind),
        roles=user.roles,
        agency_code=user.agency.code if user.agency else None,
        division_code=user.division_code,
        active=user.active,
        created_at=user.created_at,
    )


def user_record_public(record: UserRecord) -> UserPublic:
    """What :func:`user_public` shows, from a record read without the ORM."""
    return UserPublic(
        id=record.id,
        username=record.username,
        display_name=record.display_name,
        kind=record.kind,
        roles=record.roles,
        agency_code=record.agency_code,
        division_code=record.division_code,
        active=record.active,
        created_at=record.created_at,
    )


def caller_public(principal: Principal, profile: Profile) -> UserPublic:
    """The caller's own record as the caller cache holds it: what :func:`user_public` shows, without a read."""
    return UserPublic(
        id=principal.id,
        username=profile.username,
        display_name=profile.display_name,
        kind=str(principal.kind),
        roles=sorted(principal.roles, key=str),  # as the user's roles are read: by name
        agency_code=principal.agency_code,
        division_code=principal.division_code,
        active=profile.active,
        created_at=profile.created_at,
    )
