"""Residents register (real-name check + a code through a real SMTP server) and reset a forgotten password."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from onecity.core import clock, notify
from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.identity.codes import OneTimeCode
from onecity.core.identity.models import User
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.core.notify.models import OutgoingMessage
from onecity.core.notify.senders import Channel, LogOnlySender, SmtpSender
from onecity.hub.registries.identifiers import make_resident_id
from onecity.hub.registries.models import Person
from onecity.hub.sharing.models import ResidentLink
from tests.conftest import TIANPINGLU
from tests.mail_support import Mailbox, smtp_server  # noqa: F401 (a fixture)
from tests.web_support import csrf, sign_in

NAME = "林晓梅"
ID = make_resident_id("310104", date(1988, 3, 14), 42)
DEAD_ID = make_resident_id("310104", date(1931, 1, 2), 17)
EMAIL = "xiaomei@example.cn"
NEW_PASSWORD = "harbour-lights-42"


@pytest.fixture
def mail(app: Any, smtp_server: tuple[Mailbox, int]) -> Iterator[Mailbox]:  # noqa: F811
    """The app sends through the test's SMTP server (the app chose its senders when it was made)."""
    box, port = smtp_server
    notify.configure(
        senders={
            Channel.EMAIL: SmtpSender("127.0.0.1", port, "OneCity <noreply@city.test>", tls="none", timeout=5),
            Channel.SMS: LogOnlySender(Channel.SMS),
        }
    )
    try:
        yield box
    finally:
        notify.configure(senders={Channel.EMAIL: LogOnlySender(Channel.EMAIL), Channel.SMS: LogOnlySender(Channel.SMS)})


@pytest.fixture
def registry(db: Database) -> None:
    with db.transaction() as session:
        for pid, number, name, status in ((1, ID, NAME, "alive"), (2, DEAD_ID, "王德福", "deceased")):
            session.add(
                Person(
                    id=pid,
                    id_number=number,
                    name=name,
                    sex="F",
                    birth_date=date(1988, 3, 14),
                    hukou_region="310104",
                    division_code=TIANPINGLU,
                    address="上海市徐汇区永嘉路1号",
                    phone="13800000001",
                    status=status,
                )
            )


def wait_for_mail(box: Mailbox, address: str, count: int = 1) -> str:
    """The code in the ``count``-th message to ``address``, once the server's relay and consumer sent it."""
    deadline = time.monotonic() + 20
    while len(box.to(address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(box.to(address)) >= count, f"no mail to {address}"
    return box.code_for(address)


def ask(client: TestClient, name: str = NAME, id_number: str = ID, email: str = EMAIL) -> Any:
    token = csrf(client.get("/login/register"))
    return client.post(
        "/login/register", data={"name": name, "id_number": id_number, "email": email, "csrf_token": token}
    )


def confirm(client: TestClient, page: Any, code: str, username: str = "xiaomei", password: str = NEW_PASSWORD) -> Any:
    ticket = page.text.split('name="ticket" value="')[1].split('"')[0]
    return client.post(
        "/login/register/confirm",
        data={
            "ticket": ticket,
            "code": code,
            "username": username,
            "password": password,
            "password2": password,
            "email": EMAIL,
            "csrf_token": csrf(page),
        },
        follow_redirects=False,
    )


def test_a_resident_registers_with_the_code_mailed_to_them(
    client: TestClient, db: Database, registry: None, mail: Mailbox
) -> None:
    page = ask(client)
    assert page.status_code == 200 and 'id="code-sent"' in page.text
    code = wait_for_mail(mail, EMAIL)
    assert "验证码" in mail.to(EMAIL)[0]["Subject"]
    wrong = "000000" if code != "000000" else "111111"
    assert confirm(client, page, wrong).status_code == 422  # one wrong try, then the right code
    done = confirm(client, page, code)
    assert done.status_code == 303 and done.headers["location"] == "/login?done=registered"
    assert "账号已注册" in client.get("/login?done=registered").text
    with db.sessions() as session:
        user = session.scalar(select(User).where(User.username == "xiaomei"))
        assert user is not None and user.kind == PrincipalKind.CITIZEN and user.email == EMAIL
        assert user.phone == "13800000001" and user.display_name == NAME
        assert session.get_one(ResidentLink, user.id).person_id == 1
        # the code is kept only as a hash, and the mail's body was blanked once sent
        row = session.scalars(select(OneTimeCode)).one()
        assert code not in row.code_hash and row.used_at is not None
        assert session.scalars(select(OutgoingMessage)).one().body == ""
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"hub.resident.registration_code", "hub.resident.registered", "hub.resident.linked"} <= actions
    # the code is good once
    assert confirm(client, page, code, username="xiaomei2").status_code == 422
    sign_in(client, "xiaomei", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("name", "id_number"),
    [("林小梅", ID), (NAME, make_resident_id("310104", date(1990, 1, 1), 5)), ("王德福", DEAD_ID)],
)
def test_a_name_and_number_that_do_not_match_a_living_resident_get_the_same_answer_and_no_mail(
    client: TestClient, db: Database, registry: None, mail: Mailbox, name: str, id_number: str
) -> None:
    page = ask(client, name=name, id_number=id_number)
    assert page.status_code == 200 and 'id="code-sent"' in page.text  # nothing tells a match from a miss
    with db.sessions() as session:
        assert session.scalars(select(OutgoingMessage)).all() == []  # nothing was sent
    for guess in ("000000", "123456"):
        refused = confirm(client, page, guess)
        assert refused.status_code == 422 and "验证码错误或已失效" in refused.text
    with db.sessions() as session:
        assert session.scalar(select(User).where(User.username == "xiaomei")) is None


def test_a_wrong_check_character_is_refused_in_words_beside_the_field(
    client: TestClient, registry: None, mail: Mailbox
) -> None:
    bad = ID[:17] + ("0" if ID[17] != "0" else "1")
    page = ask(client, id_number=bad)
    assert page.status_code == 422
    assert 'data-field-error="id_number"' in page.text and "公民身份号码不正确" in page.text
    client.cookies.set("lang", "en")
    page = ask(client, id_number=bad)
    assert "This ID number is not valid" in page.text


def test_an_expired_code_and_too_many_tries_are_refused(
    client: TestClient, db: Database, registry: None, mail: Mailbox
) -> None:
    page = ask(client)
    code = wait_for_mail(mail, EMAIL)
    with db.transaction() as session:
        row = session.scalars(select(OneTimeCode)).one()
        row.expires_at = clock.now() - timedelta(seconds=1)
    assert confirm(client, page, code).status_code == 422
    page = ask(client)
    code = wait_for_mail(mail, EMAIL, count=2)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert confirm(client, page, wrong).status_code == 422
    refused = confirm(client, page, code)  # the right code, after five wrong tries
    assert refused.status_code == 422
    with db.sessions() as session:
        assert session.scalar(select(User).where(User.username == "xiaomei")) is None


def test_asking_for_codes_is_limited_per_id_number(client: TestClient, registry: None, mail: Mailbox) -> None:
    for _ in range(5):
        assert ask(client, name="某人").status_code == 200
    throttled = ask(client, name="某人")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3600"
    assert "请求过于频繁" in throttled.text


def test_a_resident_resets_a_forgotten_password_and_every_old_session_ends(
    client: TestClient, app: Any, db: Database, make_user: Any, mail: Mailbox
) -> None:
    user = make_user("resident-b", kind=PrincipalKind.CITIZEN)
    with db.transaction() as session:
        session.get_one(User, user.id).email = "b@example.cn"
    other = TestClient(app)  # a session on another device
    sign_in(other, "resident-b")
    assert other.get("/me/data").status_code == 200
    token = csrf(client.get("/login/forgot"))
    page = client.post("/login/forgot", data={"username": "resident-b", "csrf_token": token})
    assert page.status_code == 200 and 'id="code-sent"' in page.text
    code = wait_for_mail(mail, "b@example.cn")
    ticket = page.text.split('name="ticket" value="')[1].split('"')[0]
    done = client.post(
        "/login/forgot/confirm",
        data={
            "ticket": ticket,
            "code": code,
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "csrf_token": csrf(page),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/login?done=reset"
    assert other.get("/me/data", follow_redirects=False).status_code in (302, 303, 401)
    sign_in(client, "resident-b", NEW_PASSWORD)
    with db.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "core.user.password_reset")).one()
        assert entry.actor == f"user:{user.id}"


def test_a_reset_for_an_unknown_or_staff_account_sends_nothing_and_says_the_same(
    client: TestClient, db: Database, make_user: Any, mail: Mailbox
) -> None:
    clerk = make_user("clerk-c", Role.COUNTER_CLERK)  # staff ask their administrator
    with db.transaction() as session:
        session.get_one(User, clerk.id).email = "clerk@example.cn"
    for username in ("nobody-here", "clerk-c"):
        token = csrf(client.get("/login/forgot"))
        page = client.post("/login/forgot", data={"username": username, "csrf_token": token})
        assert page.status_code == 200 and 'id="code-sent"' in page.text
    with db.sessions() as session:
        assert session.scalars(select(OutgoingMessage)).all() == []
