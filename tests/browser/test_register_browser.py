"""Registering as a resident in Chromium, in Chinese and English: the code arrives by real SMTP (aiosmtpd).

Screenshots: ``register-zh.png``, ``register-code-zh.png``, ``register-en.png``, ``register-error-en.png``,
``register-done-zh.png`` in ``test-output/screenshots``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from onecity.core import notify
from onecity.core.db import Database
from onecity.core.notify.senders import Channel, LogOnlySender, SmtpSender
from onecity.hub.registries.identifiers import make_resident_id
from onecity.hub.registries.models import Person
from tests.browser_support import live_server, shot
from tests.mail_support import Mailbox, smtp_server  # noqa: F401 (a fixture)
from tests.web.test_register import wait_for_mail

pytestmark = pytest.mark.browser

ID = make_resident_id("310104", date(1990, 6, 1), 31)


@pytest.fixture
def server(
    sqlite_template: Path,
    tmp_path: Path,
    smtp_server: tuple[Mailbox, int],  # noqa: F811
) -> Iterator[tuple[str, Mailbox]]:
    path = tmp_path / "onecity.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    with db.transaction() as session:
        session.add(
            Person(
                id=7,
                id_number=ID,
                name="陈思远",
                sex="M",
                birth_date=date(1990, 6, 1),
                hukou_region="310104",
                division_code="310104003000",
                address="上海市徐汇区衡山路8号",
                phone="13900000007",
                status="alive",
            )
        )
    box, port = smtp_server
    with live_server(db, "register-browser") as url:
        notify.configure(
            senders={
                Channel.EMAIL: SmtpSender("127.0.0.1", port, "OneCity <noreply@city.test>", tls="none", timeout=5),
                Channel.SMS: LogOnlySender(Channel.SMS),
            }
        )
        try:
            yield url, box
        finally:
            notify.configure(
                senders={Channel.EMAIL: LogOnlySender(Channel.EMAIL), Channel.SMS: LogOnlySender(Channel.SMS)}
            )
    db.dispose()


def test_register_in_the_browser_in_both_languages(server: tuple[str, Mailbox], page: Any) -> None:
    url, box = server
    page.goto(f"{url}/lang/en?next=/login")
    page.click("#register-link")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == "Register as a resident"
    shot(page, "register-en")
    page.fill("#name", "陈思远")
    page.fill("#id_number", ID[:17] + ("0" if ID[17] != "0" else "1"))
    page.fill("#email", "siyuan@example.cn")
    page.click("button[type=submit]")
    assert "This ID number is not valid" in page.inner_text("#err-id_number")
    shot(page, "register-error-en")

    page.goto(f"{url}/lang/zh?next=/login")
    page.click("#register-link")
    assert page.inner_text("h1") == "注册居民账号"
    shot(page, "register-zh")
    page.fill("#name", "陈思远")
    page.fill("#id_number", ID)
    page.fill("#email", "siyuan@example.cn")
    page.click("button[type=submit]")
    page.wait_for_selector("#code-sent")
    shot(page, "register-code-zh")
    code = wait_for_mail(box, "siyuan@example.cn")
    page.fill("#code", code)
    page.fill("#username", "chen.siyuan")
    page.fill("#password", "hengshan-road-8")
    page.fill("#password2", "hengshan-road-8")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-done")
    shot(page, "register-done-zh")
    page.fill("#username", "chen.siyuan")
    page.fill("#password", "hengshan-road-8")
    page.click("form.form button[type=submit]")
    page.wait_for_selector("#inbox-link")
    assert "陈思远" in page.inner_text(".account-name")
