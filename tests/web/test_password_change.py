"""A password an administrator reset must be changed at the next sign-in, before any other page; audited."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.identity.models import User
from onecity.core.identity.roles import Role
from tests.conftest import PASSWORD
from tests.web_support import csrf, sign_in

NEW = "harbour-lights-42"


def test_a_reset_password_is_changed_before_anything_else(
    db: Database, client: TestClient, make_user: Callable[..., User]
) -> None:
    make_user("admin.xh", Role.ADMIN, Role.COUNTER_CLERK)
    clerk = make_user("clerk.wu", Role.COUNTER_CLERK)
    sign_in(client, "admin.xh")
    page = client.get(f"/admin/users/{clerk.id}")
    reset = client.post(f"/admin/users/{clerk.id}/password", data={"csrf_token": csrf(page)})
    temporary = reset.text.split('id="temporary-password" lang="en">')[1].split("<")[0]
    with db.sessions() as s:
        assert s.get_one(User, clerk.id).must_change_password

    # no API token either while the temporary password stands (whoever handed it over knows it)
    refused = client.post("/api/v1/auth/token", data={"username": "clerk.wu", "password": temporary})
    assert refused.status_code == 403 and "/account/password" in refused.json()["detail"]
    person = TestClient(client.app)
    r = sign_in(person, "clerk.wu", temporary, next_path="/services/work")
    # every page leads to the form, remembering where the user was going
    for path in (r.headers["location"], "/", "/credentials"):
        answer = person.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/account/password?next=")
    form = person.get("/account/password?next=/services/work")
    assert form.status_code == 200 and 'id="password-forced"' in form.text and "已由管理员重置" in form.text
    token = csrf(form)

    def change(current: str, new: str, again: str) -> Response:
        data = {"current": current, "new": new, "again": again, "next": "/services/work", "csrf_token": token}
        return person.post("/account/password", data=data, follow_redirects=False)

    for (current, new, again), said in (
        ((temporary, NEW, NEW + "x"), "两次输入的新密码不一致"),
        ((PASSWORD, NEW, NEW), "当前密码不正确"),
        ((temporary, temporary, temporary), "新密码不能与当前密码相同"),
    ):
        refused = change(current, new, again)
        assert refused.status_code == 422 and said in refused.text, said
    assert person.get("/", follow_redirects=False).status_code == 303  # still to be changed
    person.get("/lang/en")  # the language switch stays open
    assert "An administrator reset your password" in person.get("/account/password").text

    done = change(temporary, NEW, NEW)
    assert done.status_code == 303 and done.headers["location"] == "/services/work"
    assert person.get("/services/work").status_code == 200
    with db.sessions() as s:
        assert not s.get_one(User, clerk.id).must_change_password
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "core.user.password_changed")).one()
        assert entry.object_id == clerk.id and entry.detail == {"after_reset": True}
    sign_in(TestClient(client.app), "clerk.wu", NEW)
    assert client.post("/api/v1/auth/token", data={"username": "clerk.wu", "password": NEW}).status_code == 200
    # a password changed by choice is not forced
    unforced = person.get("/account/password")
    assert unforced.status_code == 200 and 'id="password-forced"' not in unforced.text
