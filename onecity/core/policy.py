"""The access policy: one place that says who may do what, and where.

Two questions, always asked together:

* **May this principal perform this action?** :func:`require` checks the role table
  :data:`ACTIONS` (action names mirror the service functions they guard) and raises 401 for
  the anonymous caller and 403 for the wrong role.
* **In which area?** Staff act within their division; :func:`scope_clause` turns that (plus
  any live :class:`~onecity.core.grants.AccessGrant`) into a SQL condition on a division-code
  column, and :func:`require_in_scope` refuses one record outside it.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ColumnElement, String, and_, bindparam, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from onecity.core import clock
from onecity.core.divisions import MUNICIPALITY_CODE, scope_prefix
from onecity.core.errors import AuthenticationRequired, PermissionDenied
from onecity.core.grants import AccessGrant
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role

R = Role
CITY = scope_prefix(MUNICIPALITY_CODE)

#: action -> roles allowed. Citizens' and enterprises' self-service actions are listed with
#: the kinds that may use them in :data:`SELF_SERVICE`.
ACTIONS: dict[str, frozenset[Role]] = {
    "core.agency.list": frozenset(Role),
    "core.agency.create": frozenset({R.ADMIN}),
    "core.user.list": frozenset({R.ADMIN}),
    "core.user.read": frozenset({R.ADMIN}),
    "core.user.create": frozenset({R.ADMIN}),
    "core.user.update": frozenset({R.ADMIN}),
    "core.apikey.create": frozenset({R.ADMIN}),
    "core.apikey.list": frozenset({R.ADMIN}),
    "core.apikey.revoke": frozenset({R.ADMIN}),
    "core.grant.create": frozenset({R.ADMIN, R.DATA_STEWARD}),
    "core.grant.list": frozenset({R.ADMIN, R.DATA_STEWARD, R.AUDITOR}),
    "core.grant.revoke": frozenset({R.ADMIN, R.DATA_STEWARD}),
    "core.audit.read": frozenset({R.AUDITOR}),
    "core.audit.verify": frozenset({R.AUDITOR}),
    "core.audit.export": frozenset({R.AUDITOR}),
    "core.audit.checkpoints": frozenset({R.AUDITOR}),
}

#: Actions any authenticated person may take about themselves.
SELF_SERVICE: frozenset[str] = frozenset({"core.me.read", "core.me.access_log", "core.me.password"})


def register_actions(actions: dict[str, frozenset[Role]]) -> None:
    """Domain parts add their actions here, beside the service functions they guard."""
    clash = set(actions) & set(ACTIONS)
    if clash:
        raise ValueError(f"actions already registered: {sorted(clash)}")
    ACTIONS.update(actions)


def require(principal: Principal, action: str) -> None:
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in first: this needs an authenticated user or API key")
    if action in SELF_SERVICE:
        return
    allowed = ACTIONS.get(action)
    if allowed is None:
        raise PermissionDenied(f"unknown action {action!r}")  # fail closed
    # no exemption for API keys or scopes: a key acts with the roles it was given (never more
    # than its creator held), like a person; the machine itself holds every role
    if principal.kind is not PrincipalKind.STAFF and principal.kind is not PrincipalKind.SYSTEM:
        raise PermissionDenied(f"{action} is for agency staff")
    if not principal.has_role(*allowed):
        need = ", ".join(sorted(r.value for r in allowed))
        raise PermissionDenied(f"{action} needs one of the roles: {need}")


def may(principal: Principal, action: str) -> bool:
    try:
        require(principal, action)
    except (AuthenticationRequired, PermissionDenied):
        return False
    return True


def visible_prefixes(session: Session, principal: Principal, resource: str) -> list[str]:
    """Division-code prefixes whose ``resource`` records this principal may see."""
    if principal.division_code is None:
        return []
    prefixes = [scope_prefix(principal.division_code)]
    conds = []
    if principal.agency_id:
        conds.append(AccessGrant.grantee_agency_id == principal.agency_id)
    # a grant to a division covers the staff of that division and of the divisions inside it
    conds.append(AccessGrant.grantee_division_code == principal.division_code)
    now = clock.now()
    grants = session.scalars(
        select(AccessGrant.scope_division_code).where(
            AccessGrant.resource == resource,
            AccessGrant.revoked_at.is_(None),
            or_(AccessGrant.valid_until.is_(None), AccessGrant.valid_until > now),
            or_(*conds),
        )
    )
    prefixes.extend(scope_prefix(code) for code in grants)
    return prefixes


def scope_clause(
    session: Session, principal: Principal, resource: str, column: InstrumentedAttribute[str | None]
) -> ColumnElement[bool]:
    """A WHERE condition restricting ``column`` (a division code) to the principal's area."""
    prefixes = visible_prefixes(session, principal, resource)
    if not prefixes:
        return false()
    if CITY in prefixes and principal.division_code is not None:
        return true()
    return or_(*(column.startswith(p, autoescape=True) for p in prefixes))


def own_area(principal: Principal, division_code: str | None) -> bool:
    """Whether a record of ``division_code`` lies in the principal's own area (no grant needed).

    Records with no division are municipal: in the own area of municipal staff only.
    """
    if principal.division_code is None:
        return False
    mine = scope_prefix(principal.division_code)
    return division_code.startswith(mine) if division_code is not None else mine == CITY


def own_area_clause(column: ColumnElement[str | None]) -> ColumnElement[bool]:
    """:func:`own_area` as a SQL condition on a division-code column, for statements built once.

    The principal is bound at execution: pass :func:`own_area_params`.
    """
    return or_(
        column.like(bindparam("own_area_like", type_=String)),
        and_(column.is_(None), bindparam("own_area_city", type_=Boolean)),
    )


def own_area_params(principal: Principal) -> dict[str, object]:
    """The values :func:`own_area_clause` is executed with, for ``principal``."""
    mine = scope_prefix(principal.division_code) if principal.division_code is not None else None
    if mine is not None and not mine.isdigit():  # never a wildcard in LIKE: such a code matches nothing
        mine = None
    return {"own_area_like": None if mine is None else mine + "%", "own_area_city": mine == CITY}


def in_scope(session: Session, principal: Principal, resource: str, division_code: str | None) -> bool:
    if own_area(principal, division_code):
        return True  # grants only add to the principal's own area, so they are not read
    if division_code is None:
        # records with no division are municipal: only municipal staff see them
        return CITY in visible_prefixes(session, principal, resource)
    return any(division_code.startswith(p) for p in visible_prefixes(session, principal, resource))


def require_in_scope(session: Session, principal: Principal, resource: str, division_code: str | None) -> None:
    if not in_scope(session, principal, resource, division_code):
        raise PermissionDenied(
            f"this {resource} record belongs to division {division_code}, outside your area "
            f"({principal.division_code}); ask its owner for an access grant"
        )
