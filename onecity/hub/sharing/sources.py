"""The registry tables the sharing query serves, and how each names its records in the audit log.

A catalogue dataset with a ``source_table`` is held by the hub; this table says which
model backs it, which column places a record in an area (the grant's scope applies to it),
which fields may be used to look records up, and whose personal data a record is — the
audit subject that the person finds in "who read my data" (``person:<id>``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from onecity.core.divisions import Division
from onecity.hub.geography.models import Grid
from onecity.hub.registries.models import Certificate, Component, HolderKind, Indicator, LegalPerson, Person


@dataclass(frozen=True)
class Source:
    model: type[Any]
    #: The kind of record, as the audit log names it (``person`` → ``person:<id>``).
    kind: str
    division_column: str
    #: Fields a reader may look records up by (only those of them the grant covers).
    filterable: frozenset[str]
    key: Callable[[Any], str]
    #: Whose personal data the record is (None: nobody's), e.g. ``person:42``.
    subject: Callable[[Any], str | None]
    #: Records are about natural persons: each read gets its own audit entry per person.
    personal: bool


def _person_holder(c: Certificate) -> str | None:
    return f"person:{c.holder_id}" if c.holder_kind == HolderKind.PERSON else None


SOURCES: dict[str, Source] = {
    "persons": Source(
        Person,
        "person",
        "division_code",
        frozenset({"id", "id_number", "name", "phone", "hukou_region", "sex", "status"}),
        key=lambda r: str(r.id),
        subject=lambda r: f"person:{r.id}",
        personal=True,
    ),
    "certificates": Source(
        Certificate,
        "certificate",
        "division_code",
        frozenset({"id", "number", "type_code", "holder_identifier", "holder_kind", "status"}),
        key=lambda r: str(r.id),
        subject=_person_holder,
        personal=True,
    ),
    "legal_persons": Source(
        LegalPerson,
        "legal_person",
        "division_code",
        frozenset({"id", "uscc", "name", "kind", "industry", "status", "legal_rep_id"}),
        key=lambda r: str(r.id),
        subject=lambda r: None,
        personal=False,
    ),
    "components": Source(
        Component,
        "component",
        "division_code",
        frozenset({"id", "code", "class_code", "grid_code", "status"}),
        key=lambda r: str(r.id),
        subject=lambda r: None,
        personal=False,
    ),
    "indicators": Source(
        Indicator,
        "indicator",
        "district_code",
        frozenset({"code", "district_code", "month"}),
        key=lambda r: f"{r.code}/{r.district_code}/{r.month}",
        subject=lambda r: None,
        personal=False,
    ),
    "divisions": Source(
        Division,
        "division",
        "code",
        frozenset({"code", "level", "kind", "parent_code"}),
        key=lambda r: str(r.code),
        subject=lambda r: None,
        personal=False,
    ),
    "grids": Source(
        Grid,
        "grid",
        "community_code",
        frozenset({"code", "community_code", "township_code", "district_code"}),
        key=lambda r: str(r.code),
        subject=lambda r: None,
        personal=False,
    ),
}
