"""The data catalogue: CKAN-style search, dataset descriptions, stewards' registrations, DCAT-AP export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from onecity.api.deps import PrincipalDep, SessionDep
from onecity.api.schemas import CONTROL_CHARS
from onecity.core.errors import InvalidInput
from onecity.hub.catalogue import dcat, service
from onecity.hub.catalogue.builtin import DatasetSpec, FieldSpec
from onecity.hub.catalogue.models import Dataset, Sensitivity
from onecity.hub.catalogue.schemas import (
    AgencyRef,
    DatasetCreate,
    DatasetPage,
    DatasetPublic,
    DatasetUpdate,
    FieldIn,
    FieldPublic,
)
from onecity.hub.catalogue.vocab import Theme

router = APIRouter(prefix="/catalog", tags=["catalogue"])
Code = Annotated[str, Path(max_length=60, description="dataset code, e.g. hub.person")]


def datasets_public(session: Session, datasets: list[Dataset]) -> list[DatasetPublic]:
    fields = service.fields_of(session, [d.id for d in datasets])
    agencies = service.agencies_of(session, datasets)
    out = []
    for d in datasets:
        a = agencies[d.owner_agency_id]
        out.append(
            DatasetPublic(
                code=d.code,
                title=d.title,
                title_en=d.title_en,
                description=d.description,
                description_en=d.description_en,
                owner=AgencyRef(code=a.code, name=a.name, name_en=a.name_en),
                division_code=d.division_code,
                theme=d.theme,
                keywords=list(d.keywords),
                update_frequency=str(d.update_frequency),
                lineage=d.lineage,
                sensitivity=service.sensitivity_of(fields[d.id]),
                held_by_hub=d.source_table is not None,
                issued_on=d.issued_on,
                modified_at=d.updated_at,
                fields=[
                    FieldPublic(
                        name=f.name,
                        title=f.title,
                        title_en=f.title_en,
                        sensitivity=Sensitivity(f.sensitivity),
                        masking=f.masking,
                    )
                    for f in fields[d.id]
                ],
            )
        )
    return out


def _fields(fields: list[FieldIn]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(f.name, f.title, f.title_en, f.sensitivity, f.masking) for f in fields)


@router.get("/datasets", response_model=DatasetPage, summary="Search the catalogue (every signed-in user)")
def search(
    session: SessionDep,
    principal: PrincipalDep,
    q: Annotated[str | None, Query(max_length=200, description="words in Chinese or English; all must match")] = None,
    theme: Theme | None = None,
    sensitivity: Annotated[Sensitivity | None, Query(description="the dataset's most sensitive field class")] = None,
    owner: Annotated[str | None, Query(max_length=40, description="owning agency code")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DatasetPage:
    if q and CONTROL_CHARS.search(q):
        raise InvalidInput("q contains control characters (such as NUL); remove them")
    found = service.search_datasets(
        session, principal, q=q, theme=theme, sensitivity=sensitivity, owner=owner, limit=limit, offset=offset
    )
    return DatasetPage(count=found.count, limit=limit, offset=offset, results=datasets_public(session, found.datasets))


@router.get("/datasets/{code}", response_model=DatasetPublic, summary="One dataset's description and fields")
def get_dataset(code: Code, session: SessionDep, principal: PrincipalDep) -> DatasetPublic:
    return datasets_public(session, [service.get_dataset(session, principal, code)])[0]


@router.post(
    "/datasets",
    response_model=DatasetPublic,
    status_code=201,
    summary="Register an agency's dataset (data stewards, in their own area)",
)
def create_dataset(body: DatasetCreate, session: SessionDep, principal: PrincipalDep) -> DatasetPublic:
    spec = DatasetSpec(
        code=body.code,
        title=body.title,
        title_en=body.title_en,
        description=body.description,
        description_en=body.description_en,
        owner_agency_code=body.owner_agency_code,
        theme=body.theme,
        update_frequency=body.update_frequency,
        lineage=body.lineage,
        fields=_fields(body.fields),
        keywords=tuple(body.keywords),
        division_code=body.division_code,
    )
    return datasets_public(session, [service.create_dataset(session, principal, spec)])[0]


@router.put(
    "/datasets/{code}",
    response_model=DatasetPublic,
    summary="Replace an agency dataset's description (data stewards of its district)",
)
def update_dataset(code: Code, body: DatasetUpdate, session: SessionDep, principal: PrincipalDep) -> DatasetPublic:
    spec = DatasetSpec(
        code=code,
        title=body.title,
        title_en=body.title_en,
        description=body.description,
        description_en=body.description_en,
        owner_agency_code=body.owner_agency_code,
        theme=body.theme,
        update_frequency=body.update_frequency,
        lineage=body.lineage,
        fields=_fields(body.fields),
        keywords=tuple(body.keywords),
        division_code=body.division_code,
    )
    return datasets_public(session, [service.update_dataset(session, principal, code, spec, reason=body.reason)])[0]


@router.get(
    "/dcat",
    summary="The catalogue as DCAT-AP 3 JSON-LD (public, for harvesters)",
    response_class=JSONResponse,
    responses={200: {"content": {"application/ld+json": {}}}},
)
def dcat_export(request: Request, session: SessionDep) -> JSONResponse:
    """Public, without signing in, on purpose.

    A DCAT catalogue exists to be harvested by other portals (the national and municipal
    open-data portals, data.europa.eu-style aggregators), which fetch it anonymously. It
    holds descriptions only — titles, owners, field names with their sensitivity class,
    update frequency — never a record, like the service catalogue a citizen browses before
    signing in; every record stays behind a grant in the sharing API it points to.
    """
    body: dict[str, Any] = dcat.catalogue_jsonld(session, str(request.base_url))
    return JSONResponse(body, media_type="application/ld+json")
