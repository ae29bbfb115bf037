"""The acting principal: who, with which roles, for which agency and division."""

from __future__ import annotations

from dataclasses import dataclass, field

from onecity.core.identity.roles import PrincipalKind, Role


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: str
    name: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    agency_id: str | None = None
    agency_code: str | None = None
    division_code: str | None = None
    #: API-key scopes; empty for people.
    scopes: frozenset[str] = field(default_factory=frozenset)
    #: True for a caller holding an API key: a system from outside, bound to the agency and
    #: division it was issued for, with the roles it was given. False for the machine itself
    #: (:func:`system_principal`: the CLI at the server, background workers).
    api_key: bool = False

    @property
    def is_machine(self) -> bool:
        """The platform itself acting, not a caller from outside: exempt from channel scopes."""
        return self.kind is PrincipalKind.SYSTEM and not self.api_key

    @property
    def is_authenticated(self) -> bool:
        return self.kind is not PrincipalKind.ANONYMOUS

    @property
    def ref(self) -> str:
        """How the audit log names this principal, e.g. ``user:…`` or ``apikey:…``."""
        prefix = {PrincipalKind.SYSTEM: "system", PrincipalKind.ANONYMOUS: "anonymous"}.get(self.kind, "user")
        return f"{prefix}:{self.id}"

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


ANONYMOUS = Principal(kind=PrincipalKind.ANONYMOUS, id="-", name="anonymous")


def system_principal(name: str, roles: frozenset[Role] | None = None) -> Principal:
    """The machine itself acting (CLI on the server, background workers): municipal scope."""
    from onecity.core.divisions import MUNICIPALITY_CODE

    return Principal(
        kind=PrincipalKind.SYSTEM,
        id=name,
        name=name,
        roles=roles if roles is not None else frozenset(Role),
        division_code=MUNICIPALITY_CODE,
        scopes=frozenset({"admin"}),
    )
