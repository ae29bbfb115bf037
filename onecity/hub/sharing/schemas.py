"""Request and response bodies of the sharing endpoints (:mod:`onecity.hub.sharing.api`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from onecity.api.schemas import DivisionCode, Strict
from onecity.hub.catalogue.schemas import DATASET_CODE, AgencyRef
from onecity.hub.sharing.models import RequestStatus


class ShareRequestCreate(Strict):
    dataset_code: str = Field(pattern=DATASET_CODE, max_length=60)
    fields: list[str] = Field(min_length=1, max_length=200)
    unmasked_fields: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="fields wanted in clear; the other personal fields come masked",
    )
    purpose: str = Field(min_length=3, max_length=200)
    legal_basis: str = Field(min_length=3, max_length=2000)
    scope_division_code: str = DivisionCode
    valid_until: datetime


class Decision(Strict):
    reason: str = Field(default="", max_length=1000)


class ReasonRequired(Strict):
    reason: str = Field(min_length=3, max_length=1000)


class ShareRequestPublic(BaseModel):
    id: str
    dataset_code: str
    dataset_title: str
    dataset_title_en: str
    requester: AgencyRef
    owner: AgencyRef
    requested_by: str
    scope_division_code: str
    fields: list[str]
    unmasked_fields: list[str]
    purpose: str
    legal_basis: str
    valid_until: datetime
    status: RequestStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    grant_id: str | None
    grant_live: bool
    created_at: datetime


class RecordsPublic(BaseModel):
    dataset: str
    basis: Literal["owner", "open", "grant"]
    grant_id: str | None
    purpose: str
    scope_division_code: str
    fields: list[str]
    masked: list[str]
    count: int
    limit: int
    offset: int
    records: list[dict[str, Any]]


class ResidentLinkCreate(Strict):
    username: str = Field(min_length=3, max_length=64)
    id_number: str = Field(min_length=18, max_length=18, pattern=r"^\d{17}[\dXx]$")


class ResidentLinkPublic(BaseModel):
    user_id: str
    person_id: int
    linked_by: str
    created_at: datetime
