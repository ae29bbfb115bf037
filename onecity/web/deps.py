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
#: Pages a user whose password was reset may still open: the form to change it, and the language
#: and large-text switches (signing out is a POST outside the pages' principal).
PASSWORD_PAGE = "/account/password"
_OPEN_WHILE_RESET = (PASSWORD_PAGE, "/lang/", "/a11y/")


class PasswordChangeRequired(Exception):
    """The signed-in user's password was reset by an administrator: the pages lead to the form to
    change it (:func:`onecity.web.errors.install` answers with that redirect)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("change the temporary password first")
        self.next_path = next_path


def page_principal(request: Request, principal: MaybePrincipalDep) -> Principal:
    row = getattr(request.state, "web_session", None)
    setattr(request.state, CSRF_STATE, row.csrf_token if row is not None else None)
    user = getattr(request.state, "user", None)
    if (
        row is not None
        and user is not None
        and user.must_change_password
        and not request.url.path.startswith(_OPEN_WHILE_RESET)
    ):
        raise PasswordChangeRequired(request.url.path if request.method == "GET" else "/")
    return principal


PagePrincipalDep = Annotated[Principal, Depends(page_principal)]
