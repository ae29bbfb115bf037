"""The catalogue's actions: install the built-in registries, register and edit agency datasets, search.

Catalogue metadata is public by nature (titles, owners, field names and their sensitivity
classes, never values), so every signed-in person may search and read it, citizens
included: knowing what the government holds about you is the start of asking who read it.
Changing it is for data stewards, in their own area: a district's stewards manage the
datasets whose coverage lies in their district, of agencies in their district.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from onecity.core import audit, clock, events, policy
from onecity.core.divisions import Division, contains, validate_code
from onecity.core.errors import AuthenticationRequired, Conflict, InvalidInput, NotFound, PermissionDenied
from onecity.core.identity import service as identity
from onecity.core.identity.models import Agency
from onecity.core.identity.principal import Principal, system_principal
from onecity.core.identity.roles import Role
from onecity.hub.catalogue import builtin
from onecity.hub.catalogue.builtin import BUILTIN_PREFIX, DatasetSpec, FieldSpec
from onecity.hub.catalogue.events import DATASET_CHANGED, DatasetChanged
from onecity.hub.catalogue.masking import Masking, is_rule
from onecity.hub.catalogue.models import Dataset, DatasetField, Frequency, Sensitivity
from onecity.hub.catalogue.vocab import PERSONAL_CLASSES, SENSITIVITY_ORDER, Theme, highest

policy.register_actions(
    {
        "hub.dataset.create": frozenset({Role.DATA_STEWARD}),
        "hub.dataset.update": frozenset({Role.DATA_STEWARD}),
    }
)

CODE_RE = re.compile(r"^[a-z][a-z0-9]{1,19}\.[a-z][a-z0-9_]{1,39}$")
FIELD_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
MAX_FIELDS = 200
MAX_KEYWORDS = 30
MAX_PAGE = 100


@dataclass(frozen=True)
class InstallReport:
    agencies_created: int
    datasets_created: int
    datasets_updated: int


@dataclass(frozen=True)
class SearchResult:
    count: int
    datasets: list[Dataset]


# -- reading ---------------------------------------------------------------------------------


def _require_signed_in(principal: Principal) -> None:
    if not principal.is_authenticated:
        raise AuthenticationRequired("sign in first: the catalogue is open to every signed-in user")


def get_dataset(session: Session, principal: Principal, code: str) -> Dataset:
    _require_signed_in(principal)
    return dataset_by_code(session, code)


def dataset_by_code(session: Session, code: str) -> Dataset:
    ds = session.scalar(select(Dataset).where(Dataset.code == code))
    if ds is None:
        raise NotFound(f"no dataset {code!r}; search the catalogue at /api/v1/catalog/datasets")
    return ds


def fields_of(session: Session, dataset_ids: Sequence[str]) -> dict[str, list[DatasetField]]:
    """The fields of each dataset, in their order (one query for a whole result page)."""
    out: dict[str, list[DatasetField]] = {i: [] for i in dataset_ids}
    if dataset_ids:
        rows = session.scalars(
            select(DatasetField)
            .where(DatasetField.dataset_id.in_(dataset_ids))
            .order_by(DatasetField.dataset_id, DatasetField.position)
        )
        for f in rows:
            out[f.dataset_id].append(f)
    return out


def agencies_of(session: Session, datasets: Sequence[Dataset]) -> dict[str, Agency]:
    ids = {d.owner_agency_id for d in datasets}
    return {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(ids)))} if ids else {}


def sensitivity_of(fields: Sequence[DatasetField]) -> Sensitivity:
    return highest([f.sensitivity for f in fields])


def _sensitivity_clause(level: Sensitivity) -> ColumnElement[bool]:
    """Datasets whose most sensitive field is exactly ``level`` (how data is classed: 数据分级)."""
    higher = list(SENSITIVITY_ORDER[SENSITIVITY_ORDER.index(level) + 1 :])
    has = exists().where(DatasetField.dataset_id == Dataset.id, DatasetField.sensitivity == level)
    if not higher:
        return has
    none_higher = ~exists().where(DatasetField.dataset_id == Dataset.id, DatasetField.sensitivity.in_(higher))
    if level is Sensitivity.PUBLIC:  # a dataset without fields yet counts as public
        return none_higher
    return and_(has, none_higher)


def search_datasets(
    session: Session,
    principal: Principal,
    *,
    q: str | None = None,
    theme: str | None = None,
    sensitivity: str | None = None,
    owner: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """CKAN-style search: every word of ``q`` must occur in the titles, descriptions, keywords or
    field names (Chinese or English, any case); datasets whose title matches come first."""
    _require_signed_in(principal)
    conds: list[ColumnElement[bool]] = []
    terms = [t.lower() for t in (q or "").split() if t.strip()][:10]
    for term in terms:
        conds.append(Dataset.search_text.contains(term, autoescape=True))
    if theme:
        conds.append(Dataset.theme == theme)
    if sensitivity:
        try:
            conds.append(_sensitivity_clause(Sensitivity(sensitivity)))
        except ValueError as err:
            raise InvalidInput(f"sensitivity must be one of {[s.value for s in Sensitivity]}") from err
    if owner:
        conds.append(Dataset.owner_agency_id.in_(select(Agency.id).where(Agency.code == owner)))
    total = session.scalar(select(func.count()).select_from(Dataset).where(*conds)) or 0
    if terms:
        first = terms[0]
        in_title = or_(
            func.lower(Dataset.title).contains(first, autoescape=True),
            func.lower(Dataset.title_en).contains(first, autoescape=True),
        )
        order: tuple[ColumnElement[int], ColumnElement[str]] | tuple[ColumnElement[str]] = (
            case((in_title, 0), else_=1),
            Dataset.code.expression,
        )
    else:
        order = (Dataset.code.expression,)
    rows = session.scalars(
        select(Dataset).where(*conds).order_by(*order).limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))
    )
    return SearchResult(count=int(total), datasets=list(rows))


# -- validating and writing ------------------------------------------------------------------


def _search_text(spec: DatasetSpec) -> str:
    parts = [spec.code, spec.title, spec.title_en, spec.description, spec.description_en, *spec.keywords]
    for f in spec.fields:
        parts.extend((f.name, f.title, f.title_en))
    return "\n".join(p.lower() for p in parts if p)


def _validate(session: Session, spec: DatasetSpec) -> Agency:
    if not CODE_RE.match(spec.code):
        raise InvalidInput(
            "a dataset code is '<agency prefix>.<name>' in lowercase letters, digits and '_', e.g. 'xhmca.elderly_care'"
        )
    for label, value in (
        ("title", spec.title),
        ("title_en", spec.title_en),
        ("description", spec.description),
        ("description_en", spec.description_en),
        ("lineage", spec.lineage),
    ):
        if not value.strip():
            raise InvalidInput(
                f"{label} is required: the catalogue describes every dataset in Chinese and English "
                "and says where its data comes from"
            )
    try:
        Theme(spec.theme)
        Frequency(spec.update_frequency)
    except ValueError as err:
        raise InvalidInput(
            f"theme must be one of {[t.value for t in Theme]} and update_frequency one of "
            f"{[f.value for f in Frequency]}"
        ) from err
    validate_code(spec.division_code)
    if session.get(Division, spec.division_code) is None:
        raise InvalidInput(f"division {spec.division_code} does not exist; list divisions at /api/v1/divisions")
    if len(spec.keywords) > MAX_KEYWORDS:
        raise InvalidInput(f"at most {MAX_KEYWORDS} keywords")
    if not spec.fields or len(spec.fields) > MAX_FIELDS:
        raise InvalidInput(f"a dataset has 1 to {MAX_FIELDS} fields")
    names: set[str] = set()
    for f in spec.fields:
        if not FIELD_RE.match(f.name):
            raise InvalidInput(f"field name {f.name!r} must be lowercase letters, digits and '_'")
        if f.name in names:
            raise InvalidInput(f"field {f.name!r} is listed twice")
        names.add(f.name)
        if not f.title.strip() or not f.title_en.strip():
            raise InvalidInput(f"field {f.name!r} needs a Chinese and an English title")
        if f.masking is not None and not is_rule(f.masking):
            raise InvalidInput(f"field {f.name!r}: unknown masking rule {f.masking!r}")
        if Sensitivity(f.sensitivity) in PERSONAL_CLASSES and f.masking is None:
            raise InvalidInput(
                f"field {f.name!r} holds personal information: say how it is masked "
                "(masking: id_number, name, phone, address, date, region or redact)"
            )
    agency = session.scalar(select(Agency).where(Agency.code == spec.owner_agency_code))
    if agency is None:
        raise InvalidInput(f"owner agency {spec.owner_agency_code!r} does not exist")
    if not contains(agency.division_code, spec.division_code):
        raise InvalidInput(
            f"agency {agency.code} sits in {agency.division_code}; it cannot own a dataset "
            f"covering {spec.division_code}"
        )
    return agency


def _write_fields(session: Session, ds: Dataset, fields: Sequence[FieldSpec]) -> None:
    for old in session.scalars(select(DatasetField).where(DatasetField.dataset_id == ds.id)):
        session.delete(old)
    session.flush()
    session.add_all(
        DatasetField(
            dataset_id=ds.id,
            name=f.name,
            position=i,
            title=f.title.strip(),
            title_en=f.title_en.strip(),
            sensitivity=Sensitivity(f.sensitivity),
            masking=str(f.masking) if f.masking else None,
        )
        for i, f in enumerate(fields)
    )


def _apply(ds: Dataset, spec: DatasetSpec, agency: Agency) -> None:
    ds.title, ds.title_en = spec.title.strip(), spec.title_en.strip()
    ds.description, ds.description_en = spec.description.strip(), spec.description_en.strip()
    ds.owner_agency_id, ds.division_code = agency.id, spec.division_code
    ds.theme, ds.update_frequency = Theme(spec.theme).value, Frequency(spec.update_frequency)
    ds.keywords = [k.strip() for k in spec.keywords if k.strip()]
    ds.lineage, ds.source_table = spec.lineage.strip(), spec.source_table
    ds.search_text = _search_text(spec)


def _require_steward_for(principal: Principal, agency: Agency, division_code: str, action: str) -> None:
    policy.require(principal, action)
    area = principal.division_code
    if (
        area is None
        or not contains(area, division_code)
        or not (agency.id == principal.agency_id or contains(area, agency.division_code))
    ):
        raise PermissionDenied(
            f"you steward data in division {area}; a dataset of {agency.code} covering {division_code} is "
            "outside it — the stewards of that district manage it"
        )


def _spec_of(session: Session, ds: Dataset) -> DatasetSpec:
    agency = session.get(Agency, ds.owner_agency_id)
    assert agency is not None
    fields = tuple(
        FieldSpec(f.name, f.title, f.title_en, Sensitivity(f.sensitivity), Masking(f.masking) if f.masking else None)
        for f in fields_of(session, [ds.id])[ds.id]
    )
    return DatasetSpec(
        code=ds.code,
        title=ds.title,
        title_en=ds.title_en,
        description=ds.description,
        description_en=ds.description_en,
        owner_agency_code=agency.code,
        theme=Theme(ds.theme),
        update_frequency=Frequency(ds.update_frequency),
        lineage=ds.lineage,
        fields=fields,
        keywords=tuple(ds.keywords),
        division_code=ds.division_code,
        source_table=ds.source_table,
    )


def create_dataset(session: Session, principal: Principal, spec: DatasetSpec) -> Dataset:
    """Register an agency's dataset. The hub holds only its description (``source_table`` None)."""
    if spec.code.startswith(BUILTIN_PREFIX):
        raise InvalidInput(
            f"codes starting with {BUILTIN_PREFIX!r} are the hub's own registries; "
            "use your agency's prefix, e.g. 'xhmca.elderly_care'"
        )
    spec = replace(spec, source_table=None)
    agency = _validate(session, spec)
    _require_steward_for(principal, agency, spec.division_code, "hub.dataset.create")
    return _create(session, principal, spec, agency)


def _create(session: Session, principal: Principal, spec: DatasetSpec, agency: Agency) -> Dataset:
    if session.scalar(select(Dataset.id).where(Dataset.code == spec.code)):
        raise Conflict(f"dataset code {spec.code!r} is already taken")
    ds = Dataset(code=spec.code, issued_on=clock.today())
    _apply(ds, spec, agency)
    session.add(ds)
    session.flush()
    _write_fields(session, ds, spec.fields)
    audit.record(
        session,
        principal,
        "hub.dataset.created",
        object_type="dataset",
        object_id=spec.code,
        division_code=spec.division_code,
        detail={"owner": agency.code, "fields": len(spec.fields)},
    )
    events.publish(
        session,
        DATASET_CHANGED,
        DatasetChanged(code=spec.code, change="created", owner_agency_id=agency.id, division_code=spec.division_code),
        principal=principal,
        reason="dataset registered",
    )
    return ds


def update_dataset(session: Session, principal: Principal, code: str, spec: DatasetSpec, *, reason: str) -> Dataset:
    """Replace a dataset's description (its code, issue date and source stay)."""
    if code.startswith(BUILTIN_PREFIX):
        raise PermissionDenied(
            "the hub's registry descriptions ship with the platform "
            "(onecity/hub/catalogue/builtin.py) and change with `onecity catalogue install`"
        )
    policy.require(principal, "hub.dataset.update")
    ds = session.scalar(select(Dataset).where(Dataset.code == code).with_for_update())
    if ds is None:
        raise NotFound(f"no dataset {code!r}")
    current = session.get(Agency, ds.owner_agency_id)
    assert current is not None
    _require_steward_for(principal, current, ds.division_code, "hub.dataset.update")
    spec = replace(spec, code=code, source_table=ds.source_table)
    agency = _validate(session, spec)
    _require_steward_for(principal, agency, spec.division_code, "hub.dataset.update")
    return _update(session, principal, ds, spec, agency, reason=reason)


def _update(
    session: Session, principal: Principal, ds: Dataset, spec: DatasetSpec, agency: Agency, *, reason: str
) -> Dataset:
    _apply(ds, spec, agency)
    _write_fields(session, ds, spec.fields)
    audit.record(
        session,
        principal,
        "hub.dataset.updated",
        object_type="dataset",
        object_id=ds.code,
        purpose=reason[:200],
        division_code=ds.division_code,
        detail={"owner": agency.code},
    )
    events.publish(
        session,
        DATASET_CHANGED,
        DatasetChanged(code=ds.code, change="updated", owner_agency_id=agency.id, division_code=ds.division_code),
        principal=principal,
        reason=reason,
    )
    return ds


# -- the built-in catalogue ------------------------------------------------------------------


def install_catalogue(session: Session, principal: Principal | None = None) -> InstallReport:
    """Describe every base registry, creating their owner agencies first. Idempotent.

    Run after ``onecity db upgrade`` (``onecity catalogue install``); ``onecity simulate`` and
    the demo run it before seeding.
    Agencies that exist are left alone; a built-in dataset whose shipped description changed
    is brought up to date, and one that did not is not touched (no audit noise on re-runs).
    """
    principal = principal or system_principal("catalogue-install")
    agencies_created = 0
    for a in builtin.AGENCIES:
        if session.scalar(select(Agency.id).where(Agency.code == a.code)) is None:
            identity.create_agency(
                session, principal, code=a.code, name=a.name, name_en=a.name_en, division_code=a.division_code
            )
            agencies_created += 1
    created = updated = 0
    for spec in builtin.DATASETS:
        agency = _validate(session, spec)
        ds = session.scalar(select(Dataset).where(Dataset.code == spec.code))
        if ds is None:
            _create(session, principal, spec, agency)
            created += 1
        elif _spec_of(session, ds) != spec or ds.search_text != _search_text(spec):
            _update(session, principal, ds, spec, agency, reason="built-in description updated")
            updated += 1
    return InstallReport(agencies_created, created, updated)
