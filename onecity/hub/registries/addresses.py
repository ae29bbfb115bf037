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

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import audit, policy
from onecity.core.identity.principal import Principal
from onecity.hub.geography import gazetteer
from onecity.hub.registries import service as _actions  # noqa: F401  (registers BUILD's roles)
from onecity.hub.registries.models import LegalPerson, Person

BUILD = "hub.registry.seed"  # who may seed the registries may rebuild what is derived from them


def registry_addresses(session: Session) -> Iterator[tuple[str, str]]:
    """Every distinct (community, address) the person and legal-person registries hold, streamed."""
    for model in (Person, LegalPerson):
        stmt = select(model.division_code, model.address).distinct().execution_options(yield_per=5000)
        for code, address in session.execute(stmt):
            yield str(code), str(address)


def build_gazetteer(session: Session, principal: Principal, within: Sequence[str] = ()) -> gazetteer.BuildReport:
    """(Re)build the gazetteer from the geography and the registries' addresses, audited as one action."""
    policy.require(principal, BUILD)
    report = gazetteer.build(session, registry_addresses(session), within=within)
    audit.record(
        session,
        principal,
        "hub.gazetteer.built",
        object_type="gazetteer",
        object_id="places",
        detail={"within": list(within), **report.as_dict()},
    )
    return report
