"""Turning user rows into their public shape (shared by the API and the pages)."""

from __future__ import annotations

from onecity.api.schemas import UserPublic
from onecity.core.identity.models import User


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
