"""The registries' addresses, handed to the geography's gazetteer.

The city has no surveyed address points of its own yet; what it has is the addresses its
registries hold (residents' homes, firms' registered premises). :func:`build_gazetteer` reads
them as ``(community code, address)`` pairs — not who lives there: the gazetteer keeps the lane,
village group or house, never a person or a room — and has
:func:`onecity.hub.geography.gazetteer.build` turn them into entries. ``onecity seed`` runs it
at the end; ``onecity registry gazetteer`` runs it again after the registries changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from onecity.core import audit, policy
from onecity.core.identity.principal import Principal
from onecity.hub.geography import gazetteer
from onecity.hub.registries import service as _actions  # noqa: F401  (registers BUILD's roles)
from onecity.hub.registries.models import LegalPerson, Person

BUILD = "hub.registry.seed"  # who may seed the registries may rebuild what is derived from them


def registry_addresses(session: Session) -> Iterator[tuple[str, str]]:
    """Every distinct (community, address) of the person registry and of the legal-person registry
    (an address both hold comes twice), streamed in community order."""
    distinct = [select(m.division_code, m.address).distinct().subquery() for m in (Person, LegalPerson)]
    both = union_all(*(select(d.c.division_code, d.c.address) for d in distinct)).subquery()
    stmt = select(both.c.division_code, both.c.address).order_by(both.c.division_code)
    for code, address in session.execute(stmt.execution_options(yield_per=5000)):
        yield str(code), str(address)


def build_gazetteer(session: Session, principal: Principal, within: Sequence[str] = ()) -> gazetteer.BuildReport:
    """(Re)build the gazetteer from the geography and the registries' addresses, audited as one action."""
    policy.require(principal, BUILD)
    report = gazetteer.build(session, registry_addresses(session), within=within, ordered=True)
    audit.record(
        session,
        principal,
        "hub.gazetteer.built",
        object_type="gazetteer",
        object_id="places",
        detail={"within": list(within), **report.as_dict()},
    )
    return report
