"""Reading shared records: the one door through which agencies read the hub's registries.

``read_records`` decides on what basis the reader may read a dataset, and then serves
exactly that:

* **owner** — staff of the owning agency (or of an agency under it) read their own
  dataset within *their own division*, every field in clear: the owner is the data's
  controller and already holds it (a Xuhui officer of the public security bureau reads
  Xuhui's residents, not Pudong's);
* **open** — a dataset whose every field is public (divisions, grids, indicators,
  components, the business register) is shared unconditionally (无条件共享) with all
  staff, city-wide;
* **grant** — anyone else needs a live grant to their agency (or division) for this
  dataset, whose purpose the stated purpose falls under: it gets only the granted fields,
  personal ones masked unless granted in clear, only records in the grant's area.

The stated purpose (the ``X-OneCity-Purpose`` header) is required on every basis. Under a
grant it must be the grant's purpose, optionally followed by a case reference after ``:``,
``：``, ``#`` or ``/`` (``"minimum living allowance review: case 2026-000123"``), so the
log says which case each read served while the grant keeps its single purpose.

Every read is audited in the reader's transaction: one ``hub.dataset.queried`` entry for
the query (dataset, basis, grant, fields, masked filter values, how many records — also
when none matched, since looking someone up is itself a use of their data), and, for
datasets about people, one ``hub.dataset.record_read`` entry per record whose subject is
the person (``person:<id>``), so each resident finds it in "who read my data". Those are
written in one batch (:func:`onecity.core.audit.record_many`), not one round trip each.
Filter values are stored masked by the field's rule: the log proves the lookup without
becoming a second copy of the register.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Date, DateTime, Integer, Numeric, false, or_, select
from sqlalchemy.orm import Session

from onecity.core import audit, clock, policy
from onecity.core.divisions import Division, contains, scope_prefix, validate_code
from onecity.core.errors import Conflict, InvalidInput, PermissionDenied
from onecity.core.grants import AccessGrant
from onecity.core.identity.models import Agency
from onecity.core.identity.principal import Principal
from onecity.hub.catalogue.masking import mask
from onecity.hub.catalogue.models import Dataset, DatasetField, Sensitivity
from onecity.hub.catalogue.service import dataset_by_code, fields_of
from onecity.hub.catalogue.vocab import PERSONAL_CLASSES
from onecity.hub.sharing.sources import SOURCES, Source

MAX_LIMIT = 1000
CASE_SEPARATORS = (":", "：", "#", "/")


class Basis(StrEnum):
    OWNER = "owner"
    OPEN = "open"
    GRANT = "grant"


@dataclass(frozen=True)
class ReadResult:
    dataset: str
    basis: Basis
    grant_id: str | None
    purpose: str
    scope_division_code: str
    fields: list[str]
    masked: list[str]
    records: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Access:
    basis: Basis
    grant: AccessGrant | None
    scope: str
    fields: list[DatasetField]
    masked: frozenset[str]


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def purpose_matches(granted: str, stated: str) -> bool:
    """Whether ``stated`` is the grant's purpose, or that purpose followed by a case reference."""
    g, s = _norm(granted), _norm(stated)
    if s == g:
        return True
    if not s.startswith(g):
        return False
    rest = s[len(g) :].lstrip()
    return rest[:1] in CASE_SEPARATORS and bool(rest[1:].strip())


def _agency_lineage(session: Session, agency_id: str | None) -> list[str]:
    """The agency and the agencies above it (a district branch stands under its bureau)."""
    chain: list[str] = []
    while agency_id is not None and agency_id not in chain and len(chain) < 8:
        chain.append(agency_id)
        agency_id = session.scalar(select(Agency.parent_id).where(Agency.id == agency_id))
    return chain


def _live_grants(session: Session, principal: Principal, resource: str) -> list[AccessGrant]:
    grantee = [AccessGrant.grantee_division_code == principal.division_code]
    if principal.agency_id:
        grantee.append(AccessGrant.grantee_agency_id == principal.agency_id)
    now = clock.now()
    return list(
        session.scalars(
            select(AccessGrant)
            .where(
                AccessGrant.resource == resource,
                AccessGrant.revoked_at.is_(None),
                or_(AccessGrant.valid_until.is_(None), AccessGrant.valid_until > now),
                or_(*grantee),
            )
            .order_by(AccessGrant.created_at)
        )
    )


def _decide(
    session: Session, principal: Principal, ds: Dataset, fields: list[DatasetField], purpose: str, grant_id: str | None
) -> _Access:
    if principal.division_code is None:
        raise PermissionDenied("reading shared data needs an account that serves a division")
    if ds.owner_agency_id in _agency_lineage(session, principal.agency_id) and grant_id is None:
        if not contains(ds.division_code, principal.division_code):
            raise PermissionDenied(f"{ds.code} covers {ds.division_code}; your division is outside it")
        return _Access(Basis.OWNER, None, principal.division_code, fields, frozenset())
    if all(Sensitivity(f.sensitivity) is Sensitivity.PUBLIC for f in fields) and grant_id is None:
        return _Access(Basis.OPEN, None, ds.division_code, fields, frozenset())
    grants = _live_grants(session, principal, ds.code)
    if not grants:
        raise PermissionDenied(
            f"your agency holds no live grant for {ds.code}; ask its owner for one (POST /api/v1/sharing/requests)"
        )
    if grant_id is not None:
        grants = [g for g in grants if g.id == grant_id]
        if not grants:
            raise PermissionDenied(f"grant {grant_id} is not a live grant of yours for {ds.code}")
    matching = [g for g in grants if purpose_matches(g.purpose, purpose)]
    if not matching:
        granted = "; ".join(sorted({g.purpose for g in grants}))
        raise PermissionDenied(
            f"the stated purpose is not one your grants for {ds.code} were given for "
            f"({granted}); state it, optionally followed by ': <case reference>'"
        )
    if len(matching) > 1:
        raise InvalidInput(
            f"several of your grants match this purpose; choose one with grant_id ({', '.join(g.id for g in matching)})"
        )
    grant = matching[0]
    allowed = set(grant.fields) if grant.fields is not None else {f.name for f in fields}
    clear = set(grant.unmasked_fields or [])
    chosen = [f for f in fields if f.name in allowed]
    masked = frozenset(f.name for f in chosen if Sensitivity(f.sensitivity) in PERSONAL_CLASSES and f.name not in clear)
    return _Access(Basis.GRANT, grant, grant.scope_division_code, chosen, masked)


def _coerce(column: Any, value: str) -> Any:
    kind = column.type
    try:
        if isinstance(kind, Integer):
            return int(value)
        if isinstance(kind, Numeric):
            return float(value)
        if isinstance(kind, Date | DateTime):
            raise ValueError("dates cannot be looked up by exact value")
    except ValueError as err:
        raise InvalidInput(f"{column.key}={value!r} is not a valid value for that field ({err})") from err
    return value


def _community_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Full names of communities (district + township + community), to cut addresses back to."""
    wanted = set()
    for c in codes:
        wanted |= {c[:6] + "000000", c[:9] + "000", c}
    names = dict(session.execute(select(Division.code, Division.name).where(Division.code.in_(wanted))).all())
    out = {}
    for c in codes:
        parts = [names.get(c[:6] + "000000"), names.get(c[:9] + "000"), names.get(c) if c[9:] != "000" else None]
        out[c] = "".join(p for p in parts if p)
    return out


def _scope_clause(source: Source, scope: str, division_filter: str | None) -> ColumnElement[bool]:
    """Records in the reader's area, narrowed to ``division_filter`` when that lies inside it."""
    column = getattr(source.model, source.division_column)
    area = scope
    if division_filter:
        validate_code(division_filter)
        if contains(scope, division_filter):
            area = division_filter
        elif not contains(division_filter, scope):
            return false()  # a division outside the area: nothing, rather than an error that confirms it exists
    clause: ColumnElement[bool] = column.startswith(scope_prefix(area), autoescape=True)
    return clause


def read_records(
    session: Session,
    principal: Principal,
    dataset_code: str,
    purpose: str | None,
    *,
    filters: Mapping[str, str] | None = None,
    division_code: str | None = None,
    grant_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> ReadResult:
    """Records of a hub dataset, as the reader's basis allows (see the module docstring). Audited."""
    policy.require(principal, "hub.dataset.read")
    if not purpose or len(purpose.strip()) < 3:
        raise InvalidInput(
            "reading shared data needs a purpose: send it in the X-OneCity-Purpose header "
            "(the grant's purpose, optionally followed by ': <case reference>')"
        )
    purpose = purpose.strip()[:200]
    ds = dataset_by_code(session, dataset_code)
    source = SOURCES.get(ds.source_table or "")
    if source is None:
        raise Conflict(
            f"{ds.code} is held by its owning agency, not by the hub: the catalogue describes it, the owner serves it"
        )
    all_fields = [f for f in fields_of(session, [ds.id])[ds.id] if hasattr(source.model, f.name)]
    access = _decide(session, principal, ds, all_fields, purpose, grant_id)
    names = [f.name for f in access.fields]
    rules = {f.name: f.masking for f in access.fields if f.name in access.masked}
    conds = [_scope_clause(source, access.scope, division_code)]
    shown_filters: dict[str, Any] = {}
    for name, value in (filters or {}).items():
        if name not in names:
            raise PermissionDenied(f"you may look records up only by fields you were granted; {name!r} is not one")
        if name not in source.filterable:
            raise InvalidInput(
                f"{ds.code} cannot be looked up by {name!r}; use one of {sorted(source.filterable & set(names))}"
            )
        column = getattr(source.model, name)
        conds.append(column == _coerce(column, value))
        shown_filters[name] = mask(rules[name], value) if name in rules else value
    if division_code:
        shown_filters["division_code"] = division_code
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    order = list(source.model.__table__.primary_key.columns)
    rows = list(session.scalars(select(source.model).where(*conds).order_by(*order).limit(limit).offset(offset)))

    divisions = {getattr(r, source.division_column) for r in rows}
    communities = _community_names(session, divisions) if any(m == "address" for m in rules.values()) else {}
    records = []
    for r in rows:
        where = getattr(r, source.division_column)
        records.append(
            {
                n: (
                    mask(rules[n], getattr(r, n), division_code=where, community=communities.get)
                    if n in rules
                    else getattr(r, n)
                )
                for n in names
            }
        )

    agency = session.get(Agency, principal.agency_id) if principal.agency_id else None
    who = {
        "agency": agency.code if agency else None,
        "agency_name": agency.name if agency else None,
        "agency_name_en": agency.name_en if agency else None,
    }
    basis = {"dataset": ds.code, "basis": str(access.basis), "grant": access.grant.id if access.grant else None}
    masked = sorted(access.masked)
    refs = [f"{source.kind}:{source.key(r)}" for r in rows]
    audit.record(
        session,
        principal,
        "hub.dataset.queried",
        object_type="dataset",
        object_id=ds.code,
        purpose=purpose,
        division_code=access.scope,
        detail={
            **basis,
            **who,
            "fields": names,
            "masked": masked,
            "filters": shown_filters,
            "count": len(rows),
            **({} if source.personal else {"records": refs}),
        },
    )
    if source.personal and rows:
        audit.record_many(
            session,
            principal,
            "hub.dataset.record_read",
            [
                audit.BatchEntry(
                    object_type=source.kind,
                    object_id=source.key(r),
                    subject=source.subject(r),
                    division_code=getattr(r, source.division_column),
                    detail={**basis, **who, "fields": names, "masked": masked},
                )
                for r in rows
            ],
            purpose=purpose,
        )
    return ReadResult(
        dataset=ds.code,
        basis=access.basis,
        grant_id=access.grant.id if access.grant else None,
        purpose=purpose,
        scope_division_code=access.scope,
        fields=names,
        masked=masked,
        records=records,
    )
