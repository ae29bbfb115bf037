"""The services API end to end over HTTP: public catalogue, a case on two channels, decisions, rating, figures."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import jwt as pyjwt
from fastapi.testclient import TestClient

from onecity.services import catalogue
from tests.services.conftest import PDF as SCAN
from tests.services.conftest import City

FOOD = "310000-01-00040-001"
PDF = base64.b64encode(SCAN).decode()


def test_public_catalogue(client: TestClient) -> None:
    items = client.get("/api/v1/services/items").json()
    assert len(items) >= 30 and len({i["department"]["code"] for i in items}) >= 8
    food = client.get(f"/api/v1/services/items/{FOOD}").json()
    assert food["form"]["properties"]["uscc"]["x-prefill"] == "firm.uscc"
    assert {"code": "business_licence", "stands_in": "cert:business_licence"}.items() <= next(
        m for m in food["materials"] if m["code"] == "business_licence"
    ).items()
    assert [i["code"] for i in client.get("/api/v1/services/items", params={"q": "食品经营"}).json()] == [FOOD]
    r = client.get("/api/v1/services/items/nope")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    bpmn = client.get("/api/v1/services/workflows/joint_review.bpmn")
    assert bpmn.status_code == 200 and "parallelGateway" in bpmn.text
    restaurant = next(b for b in client.get("/api/v1/services/bundles").json() if b["code"] == "open-restaurant")
    burden = restaurant["burden"]
    assert burden["bundle"]["materials"] < burden["one_by_one"]["materials"]
    assert burden["bundle"]["working_days"] < burden["one_by_one"]["working_days"]
    assert client.get("/api/v1/services/performance", params={"by": "district"}).status_code == 200
    assert client.get("/api/v1/services/performance", params={"by": "planet"}).status_code == 422


def test_case_over_http(city: City, client: TestClient, login: Callable[[str], dict[str, str]]) -> None:
    assert client.post("/api/v1/services/cases", json={"item_code": FOOD}).status_code == 401
    me = login("resident")
    r = client.post("/api/v1/services/cases", json={"item_code": FOOD, "uscc": city.firm.uscc, "extra": 1}, headers=me)
    assert r.status_code == 422  # unknown fields are refused
    r = client.post("/api/v1/services/cases", json={"item_code": FOOD, "uscc": city.firm.uscc}, headers=me)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["channel"] == "online" and case["prefill"]["uscc"] == "firm.uscc"
    r = client.post(f"/api/v1/services/cases/{case['id']}/submit", headers=me)
    assert r.status_code == 422 and set(r.json()["missing"]) == {m["code"] for m in case["missing"]}
    for m in case["missing"]:
        r = client.post(
            f"/api/v1/services/cases/{case['id']}/documents",
            headers=me,
            json={"material_code": m["code"], "filename": "a.pdf", "content_base64": PDF},
        )
        assert r.status_code == 201, r.text
    r = client.patch(
        f"/api/v1/services/cases/{case['id']}/form",
        headers=me,
        json={"values": {"business_items": "热食类食品制售", "floor_area_m2": "big"}},
    )
    assert r.status_code == 422 and r.json()["fields"] == {"floor_area_m2": "Enter a number, e.g. 80 or 80.5."}
    # the floor area came from the real-estate registry's record of the premises; the items are the applicant's
    assert case["prefill"]["floor_area_m2"] == "premises.area_m2"
    r = client.patch(f"/api/v1/services/cases/{case['id']}/form", headers=me, json={"values": {"floor_area_m2": 60}})
    assert r.status_code == 200
    r = client.post(f"/api/v1/services/cases/{case['id']}/submit", headers=me)
    assert r.status_code == 422 and r.json()["fields"] == {"business_items": "This is required."}
    client.patch(
        f"/api/v1/services/cases/{case['id']}/form", headers=me, json={"values": {"business_items": "热食类食品制售"}}
    )
    assert client.post(f"/api/v1/services/cases/{case['id']}/submit", headers=me).json()["status"] == "submitted"
    for who, outcome in (("clerk", "accept"), ("reviewer", "pass"), ("approver", "approve")):
        h = login(who)
        queue = client.get("/api/v1/services/work", headers=h).json()
        task = next(w for w in queue if w["case"]["id"] == case["id"])
        tag = {"If-Match": f'"{task["case"]["version"]}"'}
        r = client.post(f"/api/v1/services/work/{task['id']}/complete", headers={**h, **tag}, json={"outcome": outcome})
        assert r.status_code == 200, r.text
    done = client.get(f"/api/v1/services/cases/{case['id']}", headers=me).json()
    assert done["status"] == "approved" and done["credential_id"]
    assert [e["action"] for e in done["history"]][-1] == "task_decide"
    # the credential verifies publicly
    cred = client.get(f"/api/v1/credentials/{done['credential_id']}", headers=me)
    assert cred.status_code == 200, cred.text
    check = client.post("/api/v1/credentials/verify", json={"credential": cred.json()["jwt"]}).json()
    assert check["valid"] is True and check["status"] == "active"
    # and with a standard JOSE library against the published keys
    token = cred.json()["jwt"]
    keyset = pyjwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    kid = pyjwt.get_unverified_header(token)["kid"]
    key = next(k for k in keyset.keys if k.key_id == kid)
    claims = pyjwt.decode(token, key=key, algorithms=["EdDSA"], options={"verify_aud": False})
    assert city.firm.uscc in json.dumps(claims, ensure_ascii=False)
    # the clerk of another district does not see the case
    assert client.get(f"/api/v1/services/cases/{case['id']}", headers=login("hpclerk")).status_code == 403
    # (a complaint, which urban operations turns into a work order, is tested at the service level)
    r = client.post(f"/api/v1/services/cases/{case['id']}/rating", headers=me, json={"stars": 4, "comment": "快"})
    assert r.status_code == 201 and r.json()["follow_up"] == "none" and r.json()["channel"] == "online"
    assert client.post(f"/api/v1/services/cases/{case['id']}/rating", headers=me, json={"stars": 5}).status_code == 409
    ratings = client.get("/api/v1/services/ratings").json()
    samr = next(d for d in ratings if d["department"] == "sh-samr")
    assert samr["ratings"] == 1 and samr["avg_stars"] == 4.0 and samr["complaints"] == []
    perf = client.get("/api/v1/services/performance", params={"by": "item"}).json()
    row = next(p for p in perf if p["key"] == FOOD)
    assert row["volume"] == 1 and row["online_share"] == 1.0 and row["within_time_limit_rate"] == 1.0
    assert row["prefilled_field_share"] > 0.5 and row["avg_stars"] == 4.0
    assert catalogue.item(FOOD).name == row["name"]
    district = client.get("/api/v1/services/performance", params={"by": "district"}).json()
    assert [(d["key"], d["name"]) for d in district] == [("310104", "徐汇区")]


def test_retried_creates_with_an_idempotency_key_make_one_case_one_bundle_one_rating(
    city: City, client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    """An app that lost the answer to a create and retries it gets the first answer (issue 12, point 5)."""
    from sqlalchemy import func, select

    from onecity.services.models import BundleApplication, Case, Rating
    from tests.services.conftest import food_case_ready

    def count(model: type) -> int:
        with city.db.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(model)) or 0)

    me = login("resident")
    body = {"item_code": FOOD, "uscc": city.firm.uscc}
    first = client.post("/api/v1/services/cases", json=body, headers={**me, "Idempotency-Key": "case-1"})
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/services/cases", json=body, headers={**me, "Idempotency-Key": "case-1"})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true" and count(Case) == 1
    reused = client.post(
        "/api/v1/services/cases", json={**body, "proxy_relation": None}, headers={**me, "Idempotency-Key": "case-1"}
    )
    assert reused.status_code == 201  # the same request, spelled with a default: still a replay
    other = client.post(
        "/api/v1/services/cases",
        json={"item_code": FOOD, "uscc": city.firm.uscc, "identity_checked": True},
        headers={**me, "Idempotency-Key": "case-1"},
    )
    assert other.status_code == 422 and other.headers["content-type"].startswith("application/problem+json")
    assert "different request" in other.json()["detail"] and count(Case) == 1
    # a bundle application, likewise
    bundle_url = "/api/v1/services/bundles/open-restaurant/applications"
    b1_body = {"uscc": city.firm.uscc}
    b1 = client.post(bundle_url, json=b1_body, headers={**me, "Idempotency-Key": "bundle-1"})
    assert b1.status_code == 201, b1.text
    b2 = client.post(bundle_url, json=b1_body, headers={**me, "Idempotency-Key": "bundle-1"})
    assert b2.status_code == 201 and b2.json()["id"] == b1.json()["id"] and count(BundleApplication) == 1
    # a rating of a decided case
    case_id = food_case_ready(city)
    assert client.post(f"/api/v1/services/cases/{case_id}/submit", headers=me).status_code == 200
    for who, outcome in (("clerk", "accept"), ("reviewer", "pass"), ("approver", "approve")):
        h = login(who)
        task = next(w for w in client.get("/api/v1/services/work", headers=h).json() if w["case"]["id"] == case_id)
        done = client.post(
            f"/api/v1/services/work/{task['id']}/complete",
            headers={**h, "If-Match": task["case"]["version"]},
            json={"outcome": outcome},
        )
        assert done.status_code == 200, done.text
    url = f"/api/v1/services/cases/{case_id}/rating"
    r1 = client.post(url, json={"stars": 5}, headers={**me, "Idempotency-Key": "rate-1"})
    r2 = client.post(url, json={"stars": 5}, headers={**me, "Idempotency-Key": "rate-1"})
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json() and count(Rating) == 1
    assert client.post(url, json={"stars": 5}, headers=me).status_code == 409  # without a key: already rated
    schema = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/services/cases",
        "/api/v1/services/cases/{case_id}/rating",
        "/api/v1/services/bundles/{code}/applications",
    ):
        assert any(p["name"] == "Idempotency-Key" for p in schema[path]["post"]["parameters"]), path
