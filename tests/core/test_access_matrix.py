"""The authorization matrix: every route × the callers that tell its guard apart, from the code.

Rows come from :data:`onecity.api.access.ROUTES` (which guard each route declares) and the
expectations from :mod:`onecity.core.policy` itself (``policy.may`` for the role and API-key
columns), so that a route that checks the wrong action, or none, disagrees with the table. For
each registered action one route is tried by every role, every API-key scope, both residents
and the anonymous caller; the other routes by a caller the guard admits and one it refuses.
Routes that check a division-scoped record are also tried from another district and from city
level. A route the application serves without a row, a row for a route that does not exist,
and a registered action no route accounts for each fail the build (NetBox's generic
permission test cases are the model: every view, with and without the permission).

One city is seeded per backend for the whole module; the cells are real requests.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from onecity.api import access
from onecity.api.access import ROUTES, Guard
from onecity.core import policy
from onecity.core.config import Environment, Settings
from onecity.core.db import Database
from onecity.core.identity.roles import PrincipalKind, Role, Scope
from tests.conftest import OUTPUT, PASSWORD, _truncate_pg
from tests.core import access_matrix as m

MACHINE = ("/api/", "/sta/", "/open311/", "/openapi.json", "/sta/v1.1")

STATS = {"cells": 0, "inconclusive": 0}

#: Bodies the schema alone cannot make (the generated ones pass validation and nothing more).
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/auth/token"): {"data": {"username": "resident", "password": PASSWORD}},
}

#: Query strings a row needs (a live stream that ends after one event).
QUERIES: dict[tuple[str, str], str] = {("GET", "/ops/centre/{code}/live"): "max_events=1"}

#: Rows tried by other callers than the usual ones, and why.
ROUTE_CALLERS: dict[tuple[str, str], list[str]] = {
    # signing out closes the caller's session: only callers without one
    ("POST", "/logout"): ["anonymous", "key:read"],
    # the sign-in form needs the CSRF token of the form it came from (tests/web signs in for real)
    ("POST", "/login"): [],
    # so do registration and the forgotten-password forms, under /login (tests/web/test_register.py posts them for real)
    ("POST", "/login/register"): [],
    ("POST", "/login/register/confirm"): [],
    ("POST", "/login/forgot"): [],
    ("POST", "/login/forgot/confirm"): [],
}

#: Cells that disagree with the table because of a known hole, named; each is xfail until closed.
KNOWN_HOLES: dict[tuple[str, str, str], str] = {}


def is_page(path: str) -> bool:
    return not path.startswith(MACHINE)


def app_routes(app: Any) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for route in iter_route_contexts(app.routes):
        for method in sorted((getattr(route, "methods", None) or set()) - {"HEAD"}):
            assert route.path is not None, route  # a route that answers a method has a path
            found[(method, route.path)] = route
    return found


def full_rows() -> dict[str, tuple[str, str]]:
    """For each action, the route every caller tries (the first that declares it)."""
    rows: dict[str, tuple[str, str]] = {}
    for key, guard in ROUTES.items():
        for action in guard.actions:
            rows.setdefault(action, key)
    return rows


FULL = set(full_rows().values())


# -- expectations ---------------------------------------------------------------------------------


def expect(guard: Guard, caller: m.Caller, *, own_data: bool = True) -> set[str]:
    """What ``caller`` should get from a route with ``guard``: a set of acceptable readings."""
    p = caller.principal
    if guard.kind == "public":
        return {m.ALLOW}
    if not p.is_authenticated:
        return {m.SIGN_IN}
    if guard.kind == "signed_in":
        return {m.ALLOW}
    if guard.kind == "me":
        # a key is no person: refused, or answered with nothing of its own (an empty list)
        return {m.ALLOW} if p.kind is not PrincipalKind.SYSTEM else {m.DENY, m.SIGN_IN, m.ALLOW}
    if guard.kind == "devices":
        if p.kind is PrincipalKind.SYSTEM:
            # a key reaches a channel through that channel's scope; ``admin`` stands for no other
            return {m.ALLOW} if guard.key_scope in p.scopes else {m.DENY}
        return {m.ALLOW} if p.kind is PrincipalKind.STAFF and p.has_role(*guard.roles) else {m.DENY}
    allowed = any(policy.may(p, a) for a in guard.actions)
    if allowed and guard.narrower:
        return {m.ALLOW, m.DENY}
    if guard.kind == "applicant" and p.kind in (PrincipalKind.CITIZEN, PrincipalKind.ENTERPRISE):
        if own_data and guard.narrower:
            return {m.ALLOW, m.DENY}
        allowed = own_data
    if allowed and guard.scope and caller.area == "other":
        allowed = False
    return {m.ALLOW} if allowed else {m.DENY}


def callers_for(key: tuple[str, str], guard: Guard, callers: dict[str, m.Caller]) -> list[str]:
    """The columns tried on this row: everyone on an action's full row, else one admitted and one refused."""
    if key in ROUTE_CALLERS:
        return ROUTE_CALLERS[key]
    names = ["anonymous", "resident"]
    if guard.kind == "applicant":
        names.append("resident:other")
    if key in FULL:
        # the action's row: every role, and a key with and one without the admin scope
        names += [f"{r.value}@own" for r in Role] + ["key:read", "key:admin"]
    elif guard.kind == "devices":
        names += [f"{r.value}@own" for r in Role] + [f"key:{s.value}" for s in Scope]
    else:
        yes = [r for r in Role if expect(guard, callers[f"{r.value}@own"]) == {m.ALLOW}]
        no = [r for r in Role if expect(guard, callers[f"{r.value}@own"]) != {m.ALLOW}]
        names += [f"{r.value}@own" for r in (yes[:1] + no[:1])]
        if guard.kind in ("me", "signed_in"):
            names.append("key:read")
    if guard.scope:
        for r in Role:
            if expect(guard, callers[f"{r.value}@own"]) == {m.ALLOW}:
                names += [f"{r.value}@other", f"{r.value}@city"]
                break
    # refusals first: an admitted caller may change the record (revoke, delete) the others need
    return sorted(dict.fromkeys(names), key=lambda n: expect(guard, callers[n]) == {m.ALLOW})


# -- the seeded city, once per backend --------------------------------------------------------------


@dataclass
class Matrix:
    client: TestClient
    recorder: m.Recorder
    callers: dict[str, m.Caller]
    params: dict[str, str]
    routes: dict[tuple[str, str], Any]


ZERO = "00000000-0000-0000-0000-000000000000"


def subject_user(db: Database) -> str:
    """A member of staff in the own district who is none of the callers (reading oneself is self-service)."""
    from onecity.core.identity import service as identity
    from tests.conftest import SYSTEM

    with m.one_password_hash(), db.transaction() as s:
        user = identity.create_user(
            s,
            SYSTEM,
            username="matrix-subject",
            password=PASSWORD,
            kind=PrincipalKind.STAFF,
            roles=[Role.REVIEWER],
            agency_code="gov-own",
            division_code=m.OWN,
        )
        return user.id


def victim_key(db: Database) -> str:
    """A key in the own district for the revoke route to revoke (the callers' keys must survive)."""
    from onecity.core.identity import service as identity
    from tests.conftest import SYSTEM

    with db.transaction() as s:
        key, _ = identity.create_api_key(s, SYSTEM, name="matrix-victim", scopes=["read"], division_code=m.OWN)
        return key.id


def seed_objects(db: Database, callers: dict[str, m.Caller]) -> dict[str, str]:
    """Ids for the routes' path parameters: records in the own district, owned by ``resident``."""
    params = {
        "user_id": subject_user(db),
        "key_id": victim_key(db),
        "code": m.OWN,
        "lang": "en",
        "mode": "large",
        "fmt": "json",
        "shape": "serial",
        "path": "Things",
        "action": "register",
        "kid": "matrix-no-such-key",
        "service_code": "matrix",
        "material_code": "matrix",
        "token": "matrix",
        "z": "0",  # the base map's whole-world tile
        "x": "0",
        "y": "0",
    }
    for name in (
        "grant_id",
        "request_id",
        "list_id",
        "credential_id",
        "rule_id",
        "case_id",
        "rating_id",
        "work_item_id",
        "app_id",
        "media_id",
        "document_id",
        "poa_id",
        "ds_id",
        "edge_id",
        "offer_id",
        "objection_id",
        "notification_id",
    ):
        params.setdefault(name, ZERO)
    return params


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    from onecity.api.app import create_app

    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("matrix") / "onecity.db"
        shutil.copy(template, path)
        db = Database(f"sqlite:///{path}")
    else:
        db = Database(request.getfixturevalue("pg_url"))
        _truncate_pg(db)
    settings = Settings(
        env=Environment.TEST,
        database_url=db.url,
        secret_key=secrets.token_urlsafe(48),
        bus_url="memory://",
        outbox_poll_seconds=0.05,
    )
    callers = m.seed_callers(db, settings)
    params = seed_objects(db, callers)
    app = create_app(settings, db=db)
    STATS.update(cells=0, inconclusive=0)
    with TestClient(app, raise_server_exceptions=False) as client, m.Recorder() as recorder:
        yield Matrix(client, recorder, callers, params, app_routes(app))
    db.dispose()
    # the matrix's size, for the record: cells tried and those that stopped before the decision
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / f"access-matrix-{request.param}.json").write_text(json.dumps({"routes": len(ROUTES), **STATS}))


# -- the table is complete ----------------------------------------------------------------------------


def test_every_route_has_a_row_and_every_row_a_route(tmp_path: Path) -> None:
    from onecity.api.app import create_app

    (tmp_path / "unused.db").touch()  # the app refuses a database file that is not there (DatabaseMissing)
    settings = Settings(env=Environment.TEST, database_url=f"sqlite:///{tmp_path}/unused.db", bus_url="memory://")
    served = set(app_routes(create_app(settings)))
    missing = sorted(served - set(ROUTES))
    stale = sorted(set(ROUTES) - served)
    assert not missing, f"routes without a row in onecity/api/access.py ROUTES: {missing}"
    assert not stale, f"rows in onecity/api/access.py ROUTES for routes that do not exist: {stale}"


def test_every_action_is_guarded_by_a_route_or_said_not_to_be() -> None:
    access.import_all_parts()
    registered = set(policy.ACTIONS) | set(policy.SELF_SERVICE)
    on_routes = {a for guard in ROUTES.values() for a in guard.actions}
    unknown = sorted(on_routes - registered)
    assert not unknown, f"ROUTES name actions the policy does not register: {unknown}"
    unaccounted = sorted(registered - on_routes - set(access.NOT_ON_HTTP))
    assert not unaccounted, (
        f"registered actions with no route and no NOT_ON_HTTP entry in onecity/api/access.py: {unaccounted}"
    )
    both = sorted(set(access.NOT_ON_HTTP) & on_routes)
    assert not both, f"actions in NOT_ON_HTTP that a route does guard: {both}"
    stale = sorted(set(access.NOT_ON_HTTP) - registered)
    assert not stale, f"NOT_ON_HTTP names actions the policy does not register: {stale}"


def test_docs_access_md_is_generated_from_the_table() -> None:
    from scripts import access_doc

    assert access_doc.DOC.read_text(encoding="utf-8") == access_doc.render(), (
        "docs/access.md is stale: run python -m scripts.access_doc"
    )


# -- the cells --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES), ids=[f"{m_} {p}" for m_, p in sorted(ROUTES)])
def test_route(matrix: Matrix, method: str, path: str) -> None:
    route = matrix.routes.get((method, path))
    if route is None:
        pytest.fail(f"{method} {path} is in ROUTES but the application does not serve it")
    guard = ROUTES[(method, path)]
    page = is_page(path)
    url = m.fill(path, matrix.params)
    if (method, path) in QUERIES:
        url += "?" + QUERIES[(method, path)]
    admitted_answered = False
    body = m.body_for(route)
    wrong: list[str] = []
    holes: list[str] = []
    asked: set[str] = set()
    for name in callers_for((method, path), guard, matrix.callers):
        caller = matrix.callers[name]
        own = name != "resident:other"
        want = expect(guard, caller, own_data=own)
        target = url
        if guard.key_scope == "open311" and caller.bearer and caller.principal.kind is PrincipalKind.SYSTEM:
            target = f"{url}?api_key={caller.bearer.removeprefix('Bearer ')}"  # GeoReport v2 sends the key so
            caller = m.Caller(caller.name, caller.principal, area=caller.area)
        if guard.key_scope == "open311" and not caller.principal.is_authenticated:
            want = {m.DENY}  # GeoReport v2 answers 403 to a post without api_key
        got = m.call(
            matrix.client, matrix.recorder, caller, method, target, page=page, **(BODIES.get((method, path)) or body)
        )
        asked.update(got.required)
        reading = m.classify(got, page=page)
        if reading == m.ALLOW and got.status == 404 and guard.hides and m.DENY in want:
            reading = m.DENY
        STATS["cells"] += 1
        if want == {m.ALLOW} and reading == m.ALLOW and got.status < 400:
            admitted_answered = True
        if reading == m.ALLOW and got.status >= 400 and want != {m.ALLOW}:
            # 404, 409, 422…: the request stopped before the decision (no such record, invalid for
            # the record's state); nothing was shown or changed, but the cell proves nothing either
            STATS["inconclusive"] += 1
            continue
        if reading not in want:
            line = f"{name}: expected {'/'.join(sorted(want))}, got {got.status} {got.location} {got.body[:160]!r}"
            if (method, path, name) in KNOWN_HOLES:
                holes.append(f"{KNOWN_HOLES[(method, path, name)]}: {line}")
            else:
                wrong.append(line)
    assert not wrong, f"{method} {path} ({guard.kind} {', '.join(guard.actions)}):\n  " + "\n  ".join(wrong)
    if guard.actions and guard.kind == "staff" and admitted_answered and not asked & set(guard.actions):
        pytest.fail(f"{method} {path} never asked the policy for {guard.actions}; it asked {sorted(asked)}")
    if holes:
        pytest.xfail("; ".join(holes))
