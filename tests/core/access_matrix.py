"""The machinery of the authorization matrix: who calls, what they send, and what they should get.

A *caller* is anonymous, a member of staff holding one role in their own district (Xuhui), in
another district (Huangpu) or at city level, a resident (whose data the seeded objects are) or
another resident, or an API key of one scope. Every caller signs in the way a real one does:
a JWT (``POST /api/v1/auth/token`` issues the same token) or an API key on the API, and a
browser session with its CSRF token on the pages.

One city is seeded per backend per module (users, keys and the objects the routes name), and
every cell of the matrix is one real request against it. While a request runs, the calls to
:func:`onecity.core.policy.require` are recorded (the real function still decides), so the
matrix can say which action a route actually asked for as well as what it answered.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from onecity.core import policy
from onecity.core.errors import DomainError
from onecity.core.identity.principal import ANONYMOUS, Principal
from onecity.core.identity.roles import PrincipalKind, Role, Scope

OWN = "310104000000"  # Xuhui district
OTHER = "310101000000"  # Huangpu district
CITY = "310000000000"

AREAS = {"own": OWN, "other": OTHER, "city": CITY}


@dataclass(frozen=True)
class Caller:
    """One column of the matrix."""

    name: str  # e.g. "admin@own", "resident", "key:sensing", "anonymous"
    principal: Principal
    bearer: str | None = None  # Authorization header value for the API
    cookie: str | None = None  # web session cookie for the pages
    csrf: str | None = None
    area: str | None = None  # own / other / city for staff and keys
    role: Role | None = None


@dataclass
class Outcome:
    status: int
    location: str
    content_type: str
    required: list[str] = field(default_factory=list)
    body: str = ""


#: How a cell's answer is read.
ALLOW, DENY, SIGN_IN = "allow", "deny", "sign-in"


def classify(outcome: Outcome, *, page: bool) -> str:
    """allow / deny / sign-in / error, from the status (and, for pages, where a redirect goes)."""
    if outcome.status >= 500:
        return "error"
    if outcome.status == 401:
        return SIGN_IN
    if page and outcome.status in (302, 303, 307) and outcome.location.startswith("/login"):
        return SIGN_IN
    if outcome.status == 403:
        return DENY
    return ALLOW


class Recorder:
    """Records the actions passed to ``policy.require`` while a request runs (the real check still decides)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._original = policy.require
        self._may = policy.may

    def __enter__(self) -> Recorder:
        original = self._original

        def recording(principal: Principal, action: str) -> None:
            self.calls.append(action)
            original(principal, action)

        def quiet_may(principal: Principal, action: str) -> bool:
            # pages ask may() to draw their menus; only require() guards, so only it is recorded
            try:
                original(principal, action)
            except DomainError:
                return False
            return True

        policy.require = recording
        policy.may = quiet_may
        return self

    def __exit__(self, *exc: object) -> None:
        policy.require = self._original
        policy.may = self._may


def fill(path: str, params: dict[str, str]) -> str:
    """A route's path template with its parameters filled from ``params`` (KeyError names a missing one)."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        return params[name]

    return re.sub(r"\{([^}]+)\}", one, path)


def call(
    client: TestClient,
    recorder: Recorder,
    caller: Caller,
    method: str,
    url: str,
    *,
    page: bool,
    json: Any = None,
    data: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Outcome:
    """One real request as ``caller``; what it answered and which actions it asked the policy about."""
    h = {"X-OneCity-Purpose": "authorization matrix test", **(headers or {})}
    client.cookies.clear()
    if page:
        h.setdefault("Accept", "text/html")
        if caller.cookie:
            client.cookies.set("onecity_session", caller.cookie)
            if method not in ("GET", "HEAD") and caller.csrf:
                h["X-CSRF-Token"] = caller.csrf
        elif caller.bearer and caller.principal.kind is PrincipalKind.SYSTEM:
            h["Authorization"] = caller.bearer  # an API key on a page: the pages read the same header
    elif caller.bearer:
        h["Authorization"] = caller.bearer
    recorder.calls.clear()
    try:
        r = client.request(method, url, json=json, data=data, files=files, headers=h, follow_redirects=False)
    finally:
        client.cookies.clear()
    return Outcome(
        status=r.status_code,
        location=r.headers.get("location", ""),
        content_type=r.headers.get("content-type", ""),
        required=list(recorder.calls),
        body=r.text[:300],
    )


def anonymous() -> Caller:
    return Caller("anonymous", ANONYMOUS)


def new_secret() -> str:
    return secrets.token_urlsafe(48)


Seeder = Callable[..., Any]
ALL_SCOPES = [s.value for s in Scope]


@contextmanager
def one_password_hash() -> Iterator[None]:
    """Hash the shared test password once for all seeded accounts (Argon2id costs ~0.3 s a hash)."""
    from onecity.core.identity import service as identity
    from onecity.core.identity.passwords import hash_password as original
    from tests.conftest import PASSWORD

    stored = original(PASSWORD)
    with pytest.MonkeyPatch.context() as patch:  # the name the identity service looks up
        patch.setattr(
            identity, "hash_password", lambda password: stored if password == PASSWORD else original(password)
        )
        yield


# -- the seeded city ------------------------------------------------------------------------------


@dataclass
class City:
    """The callers and the objects whose ids fill the routes' path parameters."""

    callers: dict[str, Caller]
    params: dict[str, str]


def seed_callers(db: Any, settings: Any) -> dict[str, Caller]:
    """Anonymous; staff with each role in their own district, another district and at city level;
    two residents; an API key of each scope (bound to the own district's agency)."""
    from onecity.core.identity import auth
    from onecity.core.identity import service as identity
    from onecity.core.identity.tokens import issue_access_token
    from tests.conftest import PASSWORD, SYSTEM

    callers: dict[str, Caller] = {"anonymous": anonymous()}
    with one_password_hash(), db.transaction() as s:
        for area, code in AREAS.items():
            identity.create_agency(
                s, SYSTEM, code=f"gov-{area}", name=f"政府{area}", name_en=f"Government {area}", division_code=code
            )

        def person(name: str, kind: PrincipalKind, roles: list[Role], area: str | None) -> Caller:
            user = identity.create_user(
                s,
                SYSTEM,
                username=name.replace("@", ".").replace(":", "."),
                password=PASSWORD,
                kind=kind,
                roles=roles,
                agency_code=f"gov-{area}" if area else None,
                division_code=AREAS[area] if area else None,
            )
            s.flush()
            token, _ = issue_access_token(settings.secret_key, user.id, 600)
            cookie, row = auth.open_session(s, settings, user)
            return Caller(
                name,
                identity.principal_for_user(user),
                bearer=f"Bearer {token}",
                cookie=cookie,
                csrf=row.csrf_token,
                area=area,
                role=roles[0] if roles else None,
            )

        for area in AREAS:
            for role in Role:
                name = f"{role.value}@{area}"
                callers[name] = person(name, PrincipalKind.STAFF, [role], area)
        callers["resident"] = person("resident", PrincipalKind.CITIZEN, [], None)
        callers["resident:other"] = person("resident:other", PrincipalKind.CITIZEN, [], None)
        for scope in Scope:
            key, secret = identity.create_api_key(
                s, SYSTEM, name=f"matrix-{scope.value}", scopes=[scope.value], agency_code="gov-own", division_code=OWN
            )
            callers[f"key:{scope.value}"] = Caller(
                f"key:{scope.value}",
                identity.principal_for_api_key(s, secret),
                bearer=f"Bearer {secret}",
                area="own",
            )
    return callers


# -- request bodies: the smallest that passes validation ------------------------------------------

#: sample values for the patterns the API's schemas use; a new pattern without a sample fails loudly
PATTERN_SAMPLES = {
    r"^\d{12}$": OWN,
    r"^(\d{12}|\d{15})$": OWN,
    r"^\d{17}[\dXx]$": "310104198001010015",
    r"^password$": "password",
    r"^[a-z_]+$": "matrix",
    r"^(active|cleared)$": "active",
    r"^(outgoing|incoming)$": "outgoing",
    r"^[a-z]+\.[a-z_]+$": "hub.person",
    r"^[a-z][a-z0-9_]{0,59}$": "matrix",
    r"^[a-z][a-z0-9]{1,19}\.[a-z][a-z0-9_]{1,39}$": "matrix.sample",
}


def sample(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A small instance of a JSON Schema (as pydantic writes them): required properties only."""
    if "$ref" in schema:
        return sample(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return sample(options[0], defs) if options else None
    if "allOf" in schema:
        return sample(schema["allOf"][0], defs)
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: sample(props[name], defs) for name in schema.get("required", [])}
    if kind == "array":
        return [sample(schema.get("items", {}), defs) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        if "pattern" in schema:
            return PATTERN_SAMPLES[schema["pattern"]]
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2026-01-01T00:00:00+08:00"
        if fmt == "date":
            return "2026-01-01"
        text = "matrix sample text"
        return text[: max(schema.get("maxLength", 40), schema.get("minLength", 1))].ljust(
            schema.get("minLength", 1), "x"
        )
    if kind == "integer":
        return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return None


def body_for(route: Any) -> dict[str, Any]:
    """``json``/``data``/``files`` keyword arguments that pass the route's validation."""
    from pydantic import BaseModel, TypeAdapter

    params = getattr(route, "dependant", None)
    fields = params.body_params if params is not None else []
    if not fields:
        return {}
    json_body = [
        f
        for f in fields
        if isinstance(f.field_info.annotation, type) and issubclass(f.field_info.annotation, BaseModel)
    ]
    if json_body and len(fields) == 1:
        schema = TypeAdapter(json_body[0].field_info.annotation).json_schema()
        return {"json": sample(schema, schema.get("$defs", {}))}
    data: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for f in fields:
        annotation = str(f.field_info.annotation)
        if "UploadFile" in annotation:
            if f.field_info.is_required():
                files[f.alias] = ("matrix.png", PNG, "image/png")
        elif f.field_info.is_required():
            data[f.alias] = "1" if "int" in annotation else "matrix"
    out: dict[str, Any] = {"data": data}
    if files:
        out["files"] = files
    return out


#: a 1×1 PNG, for routes that take an upload
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a4f60000000049454e44ae426082"
)
