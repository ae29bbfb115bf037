"""The pages' principal dependency: the API's, plus the session's CSRF token kept aside.

A page that fails rolls its transaction back, which expires every row loaded in it,
including the web session whose CSRF token the error page's sign-out form needs. Copying
the token onto ``request.state`` as soon as the principal is known keeps it readable.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from onecity.api.deps import MaybePrincipalDep
from onecity.core.identity.principal import Principal

CSRF_STATE = "page_csrf_token"


def page_principal(request: Request, principal: MaybePrincipalDep) -> Principal:
    row = getattr(request.state, "web_session", None)
    setattr(request.state, CSRF_STATE, row.csrf_token if row is not None else None)
    return principal


PagePrincipalDep = Annotated[Principal, Depends(page_principal)]
