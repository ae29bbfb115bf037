"""An administrator edits an account of their area: roles (only those they hold), disabling and enabling,
and a password reset whose temporary password is shown once; each change audited, in the reader's words."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import or_, select

from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.identity.models import User, WebSession
from onecity.core.identity.roles import Role
from tests.conftest import PASSWORD
from tests.web_support import csrf, post_sign_in, sign_in

HUANGPU = "310101000000"


def _actions(db: Database, user_id: str) -> list[str]:
    with db.sessions() as s:
        return list(
            s.scalars(
                select(AuditEntry.action)
                .where(or_(AuditEntry.object_id == user_id, AuditEntry.subject == f"user:{user_id}"))
                .order_by(AuditEntry.seq)
            )
        )


def test_roles_disabling_and_a_one_time_password(
    db: Database, client: TestClient, make_user: Callable[..., User]
) -> None:
    make_user("admin.xh", Role.ADMIN, Role.COUNTER_CLERK, Role.REVIEWER)
    clerk = make_user("clerk.li", Role.COUNTER_CLERK)
    other = make_user("clerk.hp", Role.COUNTER_CLERK, division_code=HUANGPU)
    sign_in(client, "admin.xh")
    listing = client.get("/admin/users")
    assert f'href="/admin/users/{clerk.id}"' in listing.text
    page = client.get(f"/admin/users/{clerk.id}")
    assert page.status_code == 200 and 'id="roles-form"' in page.text
    assert 'value="approver" disabled' in page.text  # a role the administrator does not hold
    assert "core.user.read" in _actions(db, clerk.id)  # reading the account is audited
    # roles: add the reviewer role; none at all is refused in the reader's words
    r = client.post(
        f"/admin/users/{clerk.id}/roles",
        data={"roles": ["counter_clerk", "reviewer"], "csrf_token": csrf(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with db.sessions() as s:
        assert sorted(str(x) for x in s.get_one(User, clerk.id).roles) == ["counter_clerk", "reviewer"]
    empty = client.post(f"/admin/users/{clerk.id}/roles", data={"csrf_token": csrf(page)})
    assert empty.status_code == 422 and "工作人员至少要有一个角色" in empty.text
    beyond = client.post(f"/admin/users/{clerk.id}/roles", data={"roles": ["approver"], "csrf_token": csrf(page)})
    assert beyond.status_code == 403
    # the account signs in, then is disabled: its session stops working, it cannot sign in again
    other_client = TestClient(client.app)
    sign_in(other_client, "clerk.li")
    assert other_client.get("/services/work").status_code == 200
    r = client.post(
        f"/admin/users/{clerk.id}/active", data={"active": "no", "csrf_token": csrf(page)}, follow_redirects=False
    )
    assert r.status_code == 303 and client.get(r.headers["location"]).text.count("账号已停用") == 1
    assert other_client.get("/services/work", follow_redirects=False).status_code in (303, 401)
    assert post_sign_in(TestClient(client.app), "clerk.li", PASSWORD, "/").status_code != 303
    r = client.post(
        f"/admin/users/{clerk.id}/active", data={"active": "yes", "csrf_token": csrf(page)}, follow_redirects=False
    )
    assert r.status_code == 303
    # a password reset: shown once, not cached, the old password no longer works, the new one does
    sign_in(TestClient(client.app), "clerk.li")
    reset = client.post(f"/admin/users/{clerk.id}/password", data={"csrf_token": csrf(page)})
    assert reset.status_code == 200 and reset.headers["cache-control"] == "no-store"
    temporary = reset.text.split('id="temporary-password" lang="en">')[1].split("<")[0]
    assert len(temporary) == 19 and temporary not in client.get(f"/admin/users/{clerk.id}").text
    with db.sessions() as s:
        assert s.scalar(select(WebSession).where(WebSession.user_id == clerk.id)) is None  # signed out
    assert post_sign_in(TestClient(client.app), "clerk.li", PASSWORD, "/").status_code != 303
    sign_in(TestClient(client.app), "clerk.li", temporary)
    actions = _actions(db, clerk.id)
    assert actions.count("core.user.updated") == 3 and actions.count("core.user.password_reset") == 1
    with db.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "core.user.password_reset")).one()
    assert temporary not in str(entry.detail)
    # another district's account, and one's own
    assert client.get(f"/admin/users/{other.id}").status_code == 403
    assert client.post(f"/admin/users/{other.id}/password", data={"csrf_token": csrf(page)}).status_code == 403
    with db.sessions() as s:
        me = s.scalar(select(User).where(User.username == "admin.xh"))
        assert me is not None
    mine = client.get(f"/admin/users/{me.id}")
    assert 'id="password-form"' not in mine.text and 'id="roles-form"' not in mine.text
    refused = client.post(f"/admin/users/{me.id}/password", data={"csrf_token": csrf(page)})
    assert refused.status_code == 422 and "请在个人设置中" in refused.text
    client.get("/lang/en", params={"next": f"/admin/users/{clerk.id}"})
    en = client.get(f"/admin/users/{clerk.id}")
    assert en.status_code == 200 and "Reset the password" in en.text and "重置密码" not in en.text
