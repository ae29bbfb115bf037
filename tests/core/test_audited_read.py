"""The audited user read: one statement on PostgreSQL, the same checks and the same entry as the long way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core import audit
from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.identity.roles import Role
from tests.conftest import HUANGPU, TIANPINGLU, WAITAN, XUHUI

ENTRY = ("actor", "actor_name", "action", "object_type", "object_id", "subject", "purpose", "outcome", "detail")


def _reads(db: Database) -> list[AuditEntry]:
    with db.sessions() as session:
        return list(
            session.scalars(select(AuditEntry).where(AuditEntry.action == "core.user.read").order_by(AuditEntry.seq))
        )


def test_a_read_in_the_readers_area_and_one_through_a_grant_write_the_same_entry(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]], db: Database
) -> None:
    """The read in the own area is written by the reading statement; the one a grant opens, the long way."""
    make_user("admin.xh", Role.ADMIN, division_code=XUHUI)
    make_user("admin.hp", Role.ADMIN, division_code=HUANGPU)
    near = make_user("clerk.xh", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    far = make_user("clerk.hp", Role.COUNTER_CLERK, division_code=WAITAN)
    h = {**login("admin.xh"), "X-OneCity-Purpose": " staff review "}
    r = client.get(f"/api/v1/users/{near.id}", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "clerk.xh" and r.json()["roles"] == ["counter_clerk"]
    grant = {
        "resource": "core.user",
        "scope_division_code": WAITAN,
        "grantee_division_code": XUHUI,
        "purpose": "joint window",
    }
    assert client.post("/api/v1/grants", headers=login("admin.hp"), json=grant).status_code == 201
    r = client.get(f"/api/v1/users/{far.id}", headers=h)
    assert r.status_code == 200, r.text
    first, second = _reads(db)
    assert first.subject == f"user:{near.id}" and first.division_code == TIANPINGLU
    assert second.subject == f"user:{far.id}" and second.division_code == WAITAN
    same = {k: getattr(first, k) for k in ENTRY if k not in ("object_id", "subject")}
    assert same == {k: getattr(second, k) for k in ENTRY if k not in ("object_id", "subject")}
    assert same["purpose"] == "staff review" and same["outcome"] == "success" and same["detail"] == {}
    assert first.object_id == first.subject
    audit.seal(db)
    with db.sessions() as session:
        assert audit.verify(session).ok


def test_refused_missing_and_own_reads_write_no_entry(
    client: TestClient, make_user: Callable[..., Any], login: Callable[[str], dict[str, str]], db: Database
) -> None:
    me = make_user("admin.xh", Role.ADMIN, division_code=XUHUI)
    far = make_user("clerk.hp", Role.COUNTER_CLERK, division_code=WAITAN)
    near = make_user("clerk.xh", Role.COUNTER_CLERK, division_code=TIANPINGLU)
    h = {**login("admin.xh"), "X-OneCity-Purpose": "staff review"}
    assert client.get(f"/api/v1/users/{far.id}", headers=h).status_code == 403  # outside the area, no grant
    assert client.get("/api/v1/users/00000000-0000-0000-0000-000000000000", headers=h).status_code == 404
    assert client.get(f"/api/v1/users/{me.id}", headers=h).status_code == 200  # one's own record
    assert client.get(f"/api/v1/users/{near.id}", headers=login("clerk.hp")).status_code == 403  # wrong role
    purpose_missing = client.get(f"/api/v1/users/{near.id}", headers=login("admin.xh"))
    assert purpose_missing.status_code == 422
    assert _reads(db) == []
