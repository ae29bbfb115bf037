"""Issue 12, hole 3: an API key is bound to its creator's area and passes the checks a person does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from onecity.core import clock
from onecity.core.identity import service as identity
from onecity.core.identity.roles import Role
from onecity.ops import service
from onecity.ops.units import unit_agency_code
from tests.ops.conftest import (
    HUNANLU_POINT,
    SYSTEM,
    TIANPINGLU,
    WAITAN,
    WAITAN_POINT,
    XUHUI,
    Ops,
)
from tests.ops.test_loop import MONDAY_10, hotline_report

BUND_UNIT = unit_agency_code("sanitation", WAITAN)
TIANPING_UNIT = unit_agency_code("sanitation", TIANPINGLU)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_district_admin_cannot_mint_a_key_for_another_district_or_beyond_their_roles(
    client: TestClient, ops: Ops, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]]
) -> None:
    with clock.frozen(MONDAY_10):
        bund_case = hotline_report(ops, point=WAITAN_POINT).case
    make_user("admin.xh", Role.ADMIN, division_code=XUHUI)
    admin = login("admin.xh")
    r = client.post(
        "/api/v1/apikeys", headers=admin, json={"name": "bund", "scopes": ["admin"], "agency_code": BUND_UNIT}
    )
    assert r.status_code == 403, r.text
    assert "outside" in r.json()["detail"]
    # nor for their own district's unit with a role they do not hold
    r = client.post(
        "/api/v1/apikeys",
        headers=admin,
        json={"name": "tp", "scopes": ["admin"], "agency_code": TIANPING_UNIT, "roles": ["operator"]},
    )
    assert r.status_code == 403 and "operator" in r.json()["detail"], r.text
    # what they may mint: their own roles, bound to a unit in their area
    r = client.post(
        "/api/v1/apikeys", headers=admin, json={"name": "tp", "scopes": ["admin"], "agency_code": TIANPING_UNIT}
    )
    assert r.status_code == 201, r.text
    assert (r.json()["roles"], r.json()["division_code"]) == (["admin"], TIANPINGLU)
    key = r.json()["key"]
    # an administrator's key is no operator: it cannot read or take on a case like an operator would
    assert client.get(f"/api/v1/ops/cases/{bund_case.id}", headers=_bearer(key)).status_code == 403
    assert client.post(f"/api/v1/ops/cases/{bund_case.id}/accept", headers=_bearer(key), json={}).status_code == 403
    # and it cannot make a key that holds more than itself
    r = client.post("/api/v1/apikeys", headers=_bearer(key), json={"name": "more", "scopes": ["admin", "sensing"]})
    assert r.status_code == 403 and "sensing" in r.json()["detail"]


def test_an_operator_key_acts_for_its_unit_only_like_the_unit_staff(client: TestClient, ops: Ops) -> None:
    with clock.frozen(MONDAY_10):
        bund_case = hotline_report(ops, point=WAITAN_POINT).case
        hunan_case = hotline_report(ops, point=HUNANLU_POINT).case  # Xuhui, another township's unit
        own_case = hotline_report(ops).case  # Tianping Road: sent to the key's unit
    with ops.db.transaction() as session:
        _k, key = identity.create_api_key(
            session,
            SYSTEM,
            name="tp-sanitation-app",
            scopes=["admin"],
            agency_code=TIANPING_UNIT,
            roles=[Role.OPERATOR],
        )
    h = _bearer(key)
    # another district's case: neither read nor accepted
    assert client.get(f"/api/v1/ops/cases/{bund_case.id}", headers=h).status_code == 403
    r = client.post(f"/api/v1/ops/cases/{bund_case.id}/accept", headers=h, json={})
    assert r.status_code == 403 and "another unit" in r.json()["detail"]
    listed = client.get("/api/v1/ops/cases", headers=h).json()
    assert bund_case.id not in {c["id"] for c in listed}
    # the same district's case sent to another unit: not theirs to accept
    r = client.post(f"/api/v1/ops/cases/{hunan_case.id}/accept", headers=h, json={})
    assert r.status_code == 403 and "another unit" in r.json()["detail"]
    # their own unit's case: yes, as the unit's staff would
    r = client.post(f"/api/v1/ops/cases/{own_case.id}/accept", headers=h, json={})
    assert r.status_code == 200 and r.json()["status"] == "disposing", r.text
    with ops.db.sessions() as session:
        assert service.get_case(session, ops.p("tp.sanitation"), own_case.id).status == "disposing"


def test_an_admin_key_is_an_administrator_only_and_its_division_lies_inside_its_agency(ops: Ops) -> None:
    import pytest

    from onecity.core.errors import InvalidInput

    with ops.db.transaction() as session:
        key, _secret = identity.create_api_key(session, SYSTEM, name="x", scopes=["admin"], agency_code=TIANPING_UNIT)
        assert (key.roles, key.division_code) == (["admin"], TIANPINGLU)
    with ops.db.transaction() as session, pytest.raises(InvalidInput, match="not served"):
        identity.create_api_key(
            session,
            SYSTEM,
            name="x",
            scopes=["admin"],
            agency_code=TIANPING_UNIT,
            division_code=WAITAN,
            roles=[Role.OPERATOR],
        )
    with ops.db.transaction() as session, pytest.raises(InvalidInput, match="admin' scope"):
        identity.create_api_key(
            session, SYSTEM, name="x", scopes=["sensing"], agency_code=TIANPING_UNIT, roles=[Role.OPERATOR]
        )
