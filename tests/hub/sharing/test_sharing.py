"""Governed sharing end to end: no grant, no data; a grant shows only its fields, masked as
granted, in its area, for its purpose; every read is audited and shows in the resident's
"who read my data"; revoked, withdrawn or expired grants close the door again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from onecity.core import audit, clock
from onecity.core.audit import AuditEntry
from onecity.core.grants import AccessGrant
from tests.hub.sharing.conftest import HUANGPU, ONE_YEAR, PURPOSE, TIANPINGLU, WAITAN, YONGJIA, Hub


def _entries(hub: Hub, action: str) -> list[AuditEntry]:
    with hub.db.sessions() as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))
        session.expunge_all()
        return rows


def test_an_agency_without_a_grant_gets_403(hub: Hub) -> None:
    r = hub.read("mca.reviewer")
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert "no live grant" in r.json()["detail"]
    assert _entries(hub, "hub.dataset.record_read") == []
    denied = _entries(hub, "core.access.denied")
    assert denied and "/sharing/datasets/hub.person/records" in (denied[-1].object_id or "")


def test_a_grant_shows_only_its_fields_masked_as_granted_in_its_area(hub: Hub) -> None:
    req = hub.request()
    assert req["status"] == "pending" and req["owner"]["code"] == "sh-psb"
    approved = hub.approve(req["id"])
    assert approved["status"] == "approved" and approved["grant_live"] is True

    r = hub.read("mca.reviewer")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["basis"] == "grant" and body["grant_id"] == approved["grant_id"]
    assert body["fields"] == ["id", "id_number", "name", "birth_date", "address", "phone"]
    assert body["masked"] == ["address", "birth_date", "id_number", "phone"]
    records = {rec["id"]: rec for rec in body["records"]}
    assert set(records) == {1, 2, 3}  # person 4 lives in Huangpu, outside the grant's area
    zhang = records[1]
    assert set(zhang) == set(body["fields"])  # sex, hukou_region, status… were not granted
    p1 = hub.persons[0]
    assert zhang["id_number"] == p1.id_number[:3] + "*" * 11 + p1.id_number[-4:]
    assert zhang["name"] == "张三"  # granted in clear
    assert zhang["phone"] == "138****5678"
    assert zhang["birth_date"] == "1988"
    assert zhang["address"] == "徐汇区天平路街道永嘉居委会***"
    assert records[3]["name"] == "王小明" and records[3]["address"].startswith("徐汇区天平路街道")


def test_every_read_is_audited_naming_records_grant_and_purpose(hub: Hub) -> None:
    grant_id = hub.approve(hub.request()["id"])["grant_id"]
    purpose = f"{PURPOSE}: case 2026-000123"
    r = hub.read("mca.reviewer", purpose=purpose, division_code=YONGJIA)
    assert r.status_code == 200 and {rec["id"] for rec in r.json()["records"]} == {1, 2}

    reads = _entries(hub, "hub.dataset.record_read")
    assert {e.subject for e in reads} == {"person:1", "person:2"}
    for e in reads:
        assert e.purpose == purpose
        assert e.detail["grant"] == grant_id and e.detail["dataset"] == "hub.person"
        assert e.detail["agency"] == "xh-mca" and "id_number" in e.detail["masked"]
        assert e.actor_name == "mca.reviewer" and e.division_code == YONGJIA
    query = _entries(hub, "hub.dataset.queried")[-1]
    assert query.detail["count"] == 2 and query.detail["grant"] == grant_id and query.purpose == purpose

    with hub.db.sessions() as session:
        assert audit.verify(session).ok  # the batched entries are part of one intact chain


def test_the_resident_sees_who_read_their_data(hub: Hub) -> None:
    hub.approve(hub.request()["id"])
    assert hub.read("mca.reviewer", filter="id_number:" + hub.persons[0].id_number).status_code == 200

    r = hub.client.get("/api/v1/me/access-log", headers=hub.signed_in("zhang.san"))
    assert r.status_code == 200, r.text
    reads = [e for e in r.json() if e["action"] == "hub.dataset.record_read"]
    assert len(reads) == 1
    seen = reads[0]
    assert seen["agency"] == "徐汇区民政局" and seen["purpose"] == PURPOSE and seen["dataset"] == "hub.person"
    assert "phone" in seen["fields"] and "id_number" in seen["masked"]
    # another resident sees nothing of it
    other = hub.client.get("/api/v1/me/access-log", headers=hub.signed_in("li.si")).json()
    assert not [e for e in other if e["action"] == "hub.dataset.record_read"]


def test_a_lookup_that_finds_nobody_is_still_audited_with_the_value_masked(hub: Hub) -> None:
    hub.approve(hub.request()["id"])
    absent = hub.persons[3].id_number  # lives in Huangpu: outside the grant
    r = hub.read("mca.reviewer", filter=f"id_number:{absent}")
    assert r.status_code == 200 and r.json()["records"] == []
    q = _entries(hub, "hub.dataset.queried")[-1]
    assert q.detail["count"] == 0
    assert q.detail["filters"]["id_number"] == absent[:3] + "*" * 11 + absent[-4:]


def test_revoked_withdrawn_and_expired_grants_give_403_again(hub: Hub) -> None:
    first = hub.approve(hub.request()["id"])
    assert hub.read().status_code == 200
    r = hub.client.post(
        f"/api/v1/sharing/requests/{first['id']}/revoke",
        json={"reason": "case closed"},
        headers=hub.signed_in("psb.steward.xh"),
    )
    assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["grant_live"] is False
    assert hub.read().status_code == 403

    second = hub.approve(hub.request()["id"])
    r = hub.client.post(
        f"/api/v1/sharing/requests/{second['id']}/withdraw", json={}, headers=hub.signed_in("mca.steward")
    )
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert hub.read().status_code == 403

    soon = (clock.now() + timedelta(days=2)).isoformat()
    third = hub.approve(hub.request(valid_until=soon)["id"])
    assert hub.read().status_code == 200
    with clock.frozen(clock.now() + timedelta(days=3)):
        hub.tokens.clear()  # yesterday's 15-minute tokens have expired too
        r = hub.read()
    assert r.status_code == 403 and "no live grant" in r.json()["detail"]
    assert third["grant_live"] is True


def test_the_purpose_must_be_the_grants(hub: Hub) -> None:
    hub.approve(hub.request()["id"])
    r = hub.read(purpose="marketing campaign")
    assert r.status_code == 403 and PURPOSE in r.json()["detail"]
    assert hub.read(purpose=None).status_code == 422
    assert hub.read(purpose=PURPOSE + "extra words").status_code == 403  # not a case reference
    assert hub.read(purpose=f"{PURPOSE} # 2026-000777").status_code == 200


def test_a_chinese_purpose_travels_percent_encoded(hub: Hub) -> None:
    purpose = "最低生活保障资格核查"
    hub.approve(hub.request(purpose=purpose)["id"])
    r = hub.read(purpose=f"{purpose}：案件 2026-000123")
    assert r.status_code == 200, r.text
    assert _entries(hub, "hub.dataset.record_read")[0].purpose == f"{purpose}：案件 2026-000123"


def test_lookups_only_by_granted_fields(hub: Hub) -> None:
    hub.approve(hub.request(fields=["id", "name"], unmasked_fields=[])["id"])
    r = hub.read(filter="id_number:" + hub.persons[0].id_number)
    assert r.status_code == 403 and "only by fields you were granted" in r.json()["detail"]
    r = hub.read(filter="name:张三")
    assert r.status_code == 200 and r.json()["records"] == [{"id": 1, "name": "张*"}]
    assert hub.read(filter="nonsense").status_code == 422
    assert hub.read(filter="id:abc").status_code == 422


def test_a_division_outside_the_grant_returns_nothing(hub: Hub) -> None:
    hub.approve(hub.request(scope_division_code=TIANPINGLU)["id"])
    assert hub.read(division_code=WAITAN).json()["records"] == []
    assert {rec["id"] for rec in hub.read(division_code=HUANGPU[:6] + "000000").json()["records"]} == set()
    assert {rec["id"] for rec in hub.read().json()["records"]} == {1, 2, 3}


def test_the_owner_reads_its_own_area_in_clear(hub: Hub) -> None:
    r = hub.read("psb.officer.xh", purpose="household check")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["basis"] == "owner" and body["masked"] == [] and body["grant_id"] is None
    assert {rec["id"] for rec in body["records"]} == {1, 2, 3}  # Xuhui only
    assert body["records"][0]["id_number"] == hub.persons[0].id_number
    assert len(_entries(hub, "hub.dataset.record_read")) == 3


def test_public_registries_are_shared_without_a_grant(hub: Hub) -> None:
    r = hub.read("hp.reviewer", dataset="hub.division", purpose="map of my district", filter="parent_code:310104000000")
    assert r.status_code == 200, r.text
    assert r.json()["basis"] == "open" and r.json()["count"] == 13
    q = _entries(hub, "hub.dataset.queried")[-1]
    assert len(q.detail["records"]) == 13 and q.detail["records"][0].startswith("division:")


def test_only_the_owners_stewards_of_the_area_decide(hub: Hub) -> None:
    req = hub.request()
    for who in ("hp.steward", "mca.steward", "psb.steward.hp", "psb.officer.xh"):
        r = hub.client.post(f"/api/v1/sharing/requests/{req['id']}/approve", json={}, headers=hub.signed_in(who))
        assert r.status_code == 403, who
    incoming = hub.client.get(
        "/api/v1/sharing/requests", params={"box": "incoming"}, headers=hub.signed_in("psb.steward.xh")
    ).json()
    assert [x["id"] for x in incoming] == [req["id"]]
    assert (
        hub.client.get(
            "/api/v1/sharing/requests", params={"box": "incoming"}, headers=hub.signed_in("psb.steward.hp")
        ).json()
        == []
    )
    r = hub.client.post(
        f"/api/v1/sharing/requests/{req['id']}/refuse", json={"reason": "no"}, headers=hub.signed_in("psb.steward.xh")
    )
    assert r.status_code == 422  # a reason of 3 characters at least
    r = hub.client.post(
        f"/api/v1/sharing/requests/{req['id']}/refuse",
        json={"reason": "phone is not needed"},
        headers=hub.signed_in("psb.steward.xh"),
    )
    assert r.status_code == 200 and r.json()["status"] == "refused"
    r = hub.client.post(
        f"/api/v1/sharing/requests/{req['id']}/approve", json={}, headers=hub.signed_in("psb.steward.xh")
    )
    assert r.status_code == 409
    outgoing = hub.client.get("/api/v1/sharing/requests", headers=hub.signed_in("mca.steward")).json()
    assert outgoing[0]["decision_reason"] == "phone is not needed"
    r = hub.client.get(f"/api/v1/sharing/requests/{req['id']}", headers=hub.signed_in("hp.steward"))
    assert r.status_code == 403


def test_requests_are_validated(hub: Hub) -> None:
    def bad(**overrides: object) -> str:
        body = {
            "dataset_code": "hub.person",
            "fields": ["name"],
            "purpose": PURPOSE,
            "legal_basis": "law art. 1",
            "scope_division_code": "310104000000",
            "valid_until": ONE_YEAR.isoformat(),
            **overrides,
        }
        r = hub.client.post("/api/v1/sharing/requests", json=body, headers=hub.signed_in("mca.steward"))
        assert r.status_code == 422, r.text
        return str(r.json()["detail"])

    assert "no field" in bad(fields=["salary"])
    assert "among the requested" in bad(unmasked_fields=["phone"])
    assert "future" in bad(valid_until="2001-01-01T00:00:00+08:00")
    assert "three years" in bad(valid_until=(datetime.now(UTC) + timedelta(days=5000)).isoformat())
    assert "time zone" in bad(valid_until="2027-01-01T00:00:00")
    r = hub.client.post(
        "/api/v1/sharing/requests",
        json={
            "dataset_code": "hub.person",
            "fields": ["name"],
            "purpose": PURPOSE,
            "legal_basis": "law art. 1",
            "scope_division_code": "310104000000",
            "valid_until": ONE_YEAR.isoformat(),
        },
        headers=hub.signed_in("psb.steward.xh"),
    )
    assert r.status_code == 422 and "owns" in r.json()["detail"]
    r = hub.client.post(
        "/api/v1/sharing/requests",
        json={
            "dataset_code": "hub.person",
            "fields": ["name"],
            "purpose": PURPOSE,
            "legal_basis": "law art. 1",
            "scope_division_code": "310104000000",
            "valid_until": ONE_YEAR.isoformat(),
        },
        headers=hub.signed_in("mca.reviewer"),
    )
    assert r.status_code == 403  # a reviewer reads under grants but does not ask for them


def test_approval_makes_a_core_access_grant(hub: Hub) -> None:
    approved = hub.approve(hub.request()["id"])
    with hub.db.sessions() as session:
        grant = session.get(AccessGrant, approved["grant_id"])
        assert grant is not None
        assert grant.resource == "hub.person" and grant.scope_division_code == "310104000000"
        assert grant.fields == ["id", "id_number", "name", "phone", "address", "birth_date"]
        assert grant.unmasked_fields == ["name"] and grant.purpose == PURPOSE
        assert grant.valid_until == ONE_YEAR


def test_a_bulk_read_of_1000_persons_writes_one_entry_each_in_one_batch(hub: Hub) -> None:
    from tests.hub.sharing.conftest import person

    with hub.db.transaction() as session:
        session.add_all(
            person(1000 + i, "钱某", YONGJIA, date(1990, 1, 1) + timedelta(days=i % 3000), 100 + i % 800, "13800000000")
            for i in range(1000)
        )
    hub.approve(hub.request()["id"])
    r = hub.read(limit=1000, division_code=YONGJIA)
    assert r.status_code == 200 and r.json()["count"] == 1000
    with hub.db.sessions() as session:
        written = (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action.in_(["hub.dataset.queried", "hub.dataset.record_read"]))
            )
            or 0
        )
        subjects = (
            session.scalar(
                select(func.count(AuditEntry.subject.distinct())).where(AuditEntry.action == "hub.dataset.record_read")
            )
            or 0
        )
        assert audit.verify(session).ok
    assert written == 1000 + 1 and subjects == 1000  # one per person, plus the query itself
