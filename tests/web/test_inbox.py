"""A resident's inbox page: the list in the reader's language, the unread count in the header, marking read."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from onecity.core import notify
from onecity.core.db import Database
from onecity.core.identity.models import User
from onecity.core.identity.principal import system_principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.core.identity.service import principal_for_user
from tests.web_support import csrf, sign_in

SYSTEM = system_principal("test")


def _note(db: Database, user_id: str, n: int) -> None:
    with db.transaction() as session:
        notify.notify(
            session,
            SYSTEM,
            user_id,
            kind="services.case.decided",
            text={
                "zh": {"title": f"您的办件 SH-{n} 已办结", "body": "办理结果：准予许可。"},
                "en": {"title": f"Your case SH-{n} is decided", "body": "The decision: approved."},
            },
            link="/me/data",
        )


def test_the_inbox_lists_counts_and_marks_read(client: TestClient, db: Database, make_user: Any) -> None:
    me = make_user("resident-i", kind=PrincipalKind.CITIZEN)
    other = make_user("resident-j", kind=PrincipalKind.CITIZEN)
    _note(db, me.id, 1)
    _note(db, me.id, 2)
    _note(db, other.id, 3)
    sign_in(client, "resident-i")
    page = client.get("/me/inbox")
    assert page.status_code == 200
    assert "消息（2 条未读）" in page.text and "您的办件 SH-1 已办结" in page.text and "SH-3" not in page.text
    client.cookies.set("lang", "en")
    page = client.get("/me/inbox")
    assert "Messages (2 unread)" in page.text and "Your case SH-2 is decided" in page.text
    # open one: it is read, and the page it is about opens
    with db.sessions() as session:
        first = notify.inbox(session, principal_for_user(session.get_one(User, me.id)))[-1]
    opened = client.post(
        f"/me/inbox/{first.id}/read", data={"open": "1", "csrf_token": csrf(page)}, follow_redirects=False
    )
    assert opened.status_code == 303 and opened.headers["location"] == "/me/data"
    assert "Messages (1 unread)" in client.get("/me/inbox").text
    # another's notification is not mine to mark
    with db.sessions() as session:
        theirs = notify.inbox(session, principal_for_user(session.get_one(User, other.id)))[0]
    assert client.post(f"/me/inbox/{theirs.id}/read", data={"csrf_token": csrf(page)}).status_code == 404
    done = client.post("/me/inbox/read", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get("/me/inbox")
    assert (
        "unread" not in page.text.split("<main", 1)[1].split("</header>", 1)[0]
        and 'id="mark-all-read"' not in page.text
    )
    assert ">Messages<" in page.text


def test_staff_have_no_inbox_link_and_anonymous_visitors_sign_in(client: TestClient, make_user: Any) -> None:
    assert client.get("/me/inbox", follow_redirects=False).status_code in (302, 303, 401)
    make_user("clerk-i", Role.COUNTER_CLERK)
    sign_in(client, "clerk-i")
    assert 'id="inbox-link"' not in client.get("/").text
