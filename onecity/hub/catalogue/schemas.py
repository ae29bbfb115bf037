"""Request and response bodies of the catalogue's endpoints (:mod:`onecity.hub.catalogue.api`).

The conventions are the platform's (:mod:`onecity.api.schemas`): ``Strict`` request bodies,
``XPublic`` answers.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from onecity.api.schemas import DivisionCode, Strict
from onecity.hub.catalogue.masking import Masking
from onecity.hub.catalogue.models import Frequency, Sensitivity
from onecity.hub.catalogue.vocab import Theme

DATASET_CODE = r"^[a-z][a-z0-9]{1,19}\.[a-z][a-z0-9_]{1,39}$"
FIELD_NAME = r"^[a-z][a-z0-9_]{0,59}$"


class FieldIn(Strict):
    name: str = Field(pattern=FIELD_NAME, max_length=60)
    title: str = Field(min_length=1, max_length=100)
    title_en: str = Field(min_length=1, max_length=100)
    sensitivity: Sensitivity
    masking: Masking | None = Field(default=None, description="required for personal and sensitive fields")


class DatasetCreate(Strict):
    code: str = Field(pattern=DATASET_CODE, max_length=60, description="'<agency prefix>.<name>', e.g. xhmca.elderly")
    title: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=4000)
    description_en: str = Field(min_length=1, max_length=4000)
    owner_agency_code: str = Field(min_length=2, max_length=40)
    division_code: str = DivisionCode
    theme: Theme
    keywords: list[str] = Field(default_factory=list, max_length=30)
    update_frequency: Frequency
    lineage: str = Field(min_length=1, max_length=4000, description="where the data comes from and how it is checked")
    fields: list[FieldIn] = Field(min_length=1, max_length=200)


class DatasetUpdate(Strict):
    """A full replacement of the description (fields included); the code and issue date stay."""

    title: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=4000)
    description_en: str = Field(min_length=1, max_length=4000)
    owner_agency_code: str = Field(min_length=2, max_length=40)
    division_code: str = DivisionCode
    theme: Theme
    keywords: list[str] = Field(default_factory=list, max_length=30)
    update_frequency: Frequency
    lineage: str = Field(min_length=1, max_length=4000)
    fields: list[FieldIn] = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=3, max_length=300, description="why (kept in the audit log)")


class FieldPublic(BaseModel):
    name: str
    title: str
    title_en: str
    sensitivity: Sensitivity
    masking: str | None


class AgencyRef(BaseModel):
    code: str
    name: str
    name_en: str


class DatasetPublic(BaseModel):
    code: str
    title: str
    title_en: str
    description: str
    description_en: str
    owner: AgencyRef
    division_code: str
    theme: str
    keywords: list[str]
    update_frequency: str
    lineage: str
    sensitivity: Sensitivity = Field(description="the most sensitive of its fields")
    held_by_hub: bool = Field(description="whether the hub serves its records through the sharing API")
    issued_on: date
    modified_at: datetime
    fields: list[FieldPublic]


class DatasetPage(BaseModel):
    """One page of a search, CKAN's ``package_search`` shape: the total and this page's results."""

    count: int
    limit: int
    offset: int
    results: list[DatasetPublic]
