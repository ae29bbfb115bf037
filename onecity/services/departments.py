"""The approving departments as agencies, so their reviewers and approvers have somewhere to belong."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core.identity.models import Agency
from onecity.core.identity.principal import Principal
from onecity.services import catalogue


def install_departments(session: Session, principal: Principal) -> int:
    """Create the catalogue's departments as municipal agencies where missing; returns how many were made."""
    from onecity.core.divisions import MUNICIPALITY_CODE
    from onecity.core.identity import service as identity

    made = 0
    for code, dept in catalogue.departments().items():
        if session.scalar(select(Agency.id).where(Agency.code == code)) is None:
            identity.create_agency(
                session,
                principal,
                code=code,
                name=dept["name"],
                name_en=dept["name_en"],
                division_code=MUNICIPALITY_CODE,
            )
            made += 1
    return made
