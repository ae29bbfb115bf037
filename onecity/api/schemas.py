"""Request and response bodies, one family per entity (``XCreate``, ``XUpdate``, ``XPublic``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from onecity.core.identity.roles import Role, Scope

DIVISION_PATTERN = r"^\d{12}$"
DIVISION_HELP = "12-digit GB/T 2260 statistical division code"
DivisionCode = Field(pattern=DIVISION_PATTERN, description=DIVISION_HELP)
OptionalDivisionCode = Field(default=None, pattern=DIVISION_PATTERN, description=DIVISION_HELP)


CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _reject_control_chars(value: Any, where: str = "") -> None:
    if isinstance(value, str):
        if CONTROL_CHARS.search(value):
            raise ValueError(f"{where or 'a text field'} contains control characters (such as NUL); remove them")
    elif isinstance(value, dict):
        for k, v in value.items():
            _reject_control_chars(v, str(k))
    elif isinstance(value, list):
        for v in value:
            _reject_control_chars(v, where)


class Strict(BaseModel):
    """Base of every request body: unknown fields and control characters are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _clean_text(cls, data: Any) -> Any:
        _reject_control_chars(data)
        return data


class TokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class ComponentStatus(BaseModel):
    status: Literal["ok", "down"]
    detail: str | None = None
    latency_ms: float | None = None


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    components: dict[str, ComponentStatus]


class DivisionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    name_en: str
    level: str
    kind: str | None
    parent_code: str | None


class AgencyCreate(Strict):
    code: str = Field(min_length=2, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    division_code: str = DivisionCode
    parent_code: str | None = Field(default=None, max_length=40)


class AgencyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    code: str
    name: str
    name_en: str
    division_code: str
    active: bool


class UserCreate(Strict):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    kind: Literal["citizen", "enterprise", "staff"] = "staff"
    roles: list[Role] = Field(default_factory=list, max_length=len(Role))
    agency_code: str | None = Field(default=None, max_length=40)
    division_code: str | None = OptionalDivisionCode
    display_name: str = Field(default="", max_length=100)


class UserUpdate(Strict):
    active: bool | None = None
    roles: list[Role] | None = Field(default=None, max_length=len(Role))
    reason: str = Field(min_length=3, max_length=300, description="why (kept in the audit log)")


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    username: str
    display_name: str
    kind: str
    roles: list[Role]
    agency_code: str | None = None
    division_code: str | None
    active: bool
    created_at: datetime


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class ApiKeyCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    agency_code: str | None = Field(
        default=None, max_length=40, description="the agency the key acts for (default: yours); inside your area"
    )
    division_code: str | None = OptionalDivisionCode
    roles: list[Role] | None = Field(
        default=None,
        max_length=len(Role),
        description="roles the key acts with (needs the admin scope; default: yours), never more than yours",
    )
    expires_at: datetime | None = None


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    prefix: str
    scopes: list[str]
    roles: list[str]
    division_code: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyIssued(ApiKeyPublic):
    key: str = Field(description="the secret, shown this once only")


class GrantCreate(Strict):
    resource: str = Field(pattern=r"^[a-z]+\.[a-z_]+$", max_length=60)
    scope_division_code: str = DivisionCode
    grantee_agency_code: str | None = Field(default=None, max_length=40)
    grantee_division_code: str | None = OptionalDivisionCode
    fields: list[str] | None = Field(default=None, max_length=200)
    purpose: str = Field(min_length=3, max_length=200)
    valid_until: datetime | None = None


class GrantRevoke(Strict):
    reason: str = Field(min_length=3, max_length=300)


class GrantPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    resource: str
    scope_division_code: str
    grantee_agency_id: str | None
    grantee_division_code: str | None
    fields: list[str] | None
    purpose: str
    granted_by: str
    valid_until: datetime | None
    revoked_at: datetime | None


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    at: datetime
    actor: str
    actor_name: str
    action: str
    object_type: str
    object_id: str | None
    subject: str | None
    purpose: str | None
    outcome: str
    division_code: str | None
    detail: dict[str, Any]
    #: The entry's place in the hash chain and its hash: null for a moment, until the sealer chains it.
    pos: int | None = None
    hash: str | None


class AuditVerifyPublic(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str | None
    checkpoints: int = 0
    #: Entries committed but not sealed into the chain yet (not verified by this walk).
    unsealed: int = 0


class CheckpointKeyPublic(BaseModel):
    """An Ed25519 public key (JWK) that signs audit checkpoints; ``kid`` is its RFC 7638 thumbprint."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str
    use: str = "sig"
    alg: str = "EdDSA"


class CheckpointPublic(BaseModel):
    """A signed head: ``signature`` (base64url Ed25519) covers
    ``"onecity audit checkpoint v1\nseq {seq}\nhead {head}\nat {at}\n"``."""

    seq: int
    head: str
    at: str
    kid: str
    signature: str


class CheckpointsPublic(BaseModel):
    """The checkpoints document (what ``onecity audit checkpoints --export`` writes, ``verify --checkpoints`` reads)."""

    format: Literal["onecity-audit-checkpoints/v1"]
    keys: list[CheckpointKeyPublic]
    checkpoints: list[CheckpointPublic]


class AccessLogEntry(BaseModel):
    """One read of my data, as the resident sees it."""

    at: datetime
    by: str
    action: str
    purpose: str | None
    #: For reads through the data hub: the reading agency, the dataset and the fields it saw.
    agency: str | None = None
    agency_en: str | None = None
    dataset: str | None = None
    fields: list[str] = Field(default_factory=list)
    masked: list[str] = Field(default_factory=list)
    #: For reads made for someone acting on my behalf: who, and the proven relation in words.
    on_behalf_of: str | None = Field(default=None, description="the person who acted for me")
    relation: str | None = Field(default=None, description="their proven relation to me, in Chinese")
    relation_en: str | None = Field(default=None, description="their proven relation to me, in English")
