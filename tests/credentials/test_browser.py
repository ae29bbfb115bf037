"""The QR code works: Chromium renders the holder's page, OpenCV reads the code it shows, and the
page it leads to says valid, then revoked. Screenshots in test-output/screenshots/credentials-*."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import jwt as pyjwt
import numpy as np
import pypdfium2 as pdfium
import pytest

from onecity.core.db import Database
from onecity.core.identity import service as identity
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.credentials import issuer, service
from onecity.hub.sharing.service import link_resident
from tests.browser_support import live_server, shot
from tests.conftest import OUTPUT, PASSWORD, SYSTEM
from tests.credentials.conftest import APPROVER, Registry, certificate, populate

pytestmark = pytest.mark.browser


@pytest.fixture
def served(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Registry]]:
    path = tmp_path / "onecity.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    reg = populate(db)
    with db.transaction() as s:
        identity.create_user(
            s,
            SYSTEM,
            username="xiaomei",
            password=PASSWORD,
            kind=PrincipalKind.CITIZEN,
            roles=[],
            agency_code=None,
            division_code=None,
            display_name="王小梅",
        )
    with db.transaction() as s:
        link_resident(s, SYSTEM, username="xiaomei", id_number=reg.person.id_number)
    with db.transaction() as s:
        identity.create_agency(
            s,
            SYSTEM,
            code="xh-samr",
            name="徐汇区市场监督管理局",
            name_en="Xuhui Market Regulation",
            division_code="310104000000",
        )
    with db.transaction() as s:
        identity.create_user(
            s,
            SYSTEM,
            username="li.approver",
            password=PASSWORD,
            kind=PrincipalKind.STAFF,
            roles=[Role.APPROVER],
            agency_code="xh-samr",
            division_code="310104003000",
            display_name="李审批",
        )
    with live_server(db, "credentials") as url:
        # the credentials name the address verifiers reach: here, the test server
        monkeypatch.setenv("ONECITY_PUBLIC_URL", url)
        issuer.issuer_url.cache_clear()
        try:
            yield url, reg
        finally:
            issuer.issuer_url.cache_clear()
    db.dispose()


#: Pixels the code is drawn across for reading: a version 30+ code (the whole JWT) gets 8 or more a module.
READ_AT = 1200


def scan(page: Any, selector: str) -> str:
    """Read the QR code of the ``<img>`` in ``selector`` as a phone held close to it would.

    The page shows the offline code (version 30 or more) at about three screen pixels a module,
    scaled to fit; read from a screenshot of that, OpenCV's decoder misses some codes, depending
    on their data (about one in forty even drawn cleanly at three pixels a module, none at four
    or more). So the code is read from the very image the page loaded (its ``currentSrc``, with
    the page's cookies), drawn by Chromium in a second tab at a whole multiple of its size.
    """
    code = page.locator(selector)
    code.wait_for(state="visible")
    code.evaluate("img => img.decode()")  # loaded and decoded, or this raises
    src, natural = code.evaluate("img => [img.currentSrc, img.naturalWidth]")
    assert natural > 0, f"{selector} shows no image"
    k = -(-READ_AT // natural)  # a whole multiple keeps every module the same number of pixels
    side = natural * k
    parts = urlsplit(src)
    reader_url = f"{parts.scheme}://{parts.netloc}/__qr_reader__"
    reader = page.context.new_page()
    try:
        # a page of the same origin, so the image request carries the holder's session as the page's did
        reader.route(
            reader_url,
            lambda route: route.fulfill(
                content_type="text/html",
                body=f'<body style="margin:32px;background:#fff"><img id="code" src="{src}" '
                f'style="width:{side}px;height:{side}px;image-rendering:pixelated"></body>',
            ),
        )
        reader.set_viewport_size({"width": side + 64, "height": side + 64})
        reader.goto(reader_url)
        drawn = reader.locator("#code")
        drawn.evaluate("img => img.decode()")
        png = drawn.screenshot()
    finally:
        reader.close()
    decoded = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    assert decoded is not None, "the screenshot is not an image"
    image = cv2.copyMakeBorder(decoded, 32, 32, 32, 32, cv2.BORDER_CONSTANT, value=255)
    # the ArUco-based detector also reads the large (version 30+) code that carries a whole JWT
    for detector in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):
        text, _points, _ = detector.detectAndDecode(image)
        if text:
            return str(text)
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(OUTPUT / "screenshots" / "credentials-unreadable-qr.png"), image)
    raise AssertionError(f"the QR code in {selector} could not be read (image in test-output/screenshots)")


def test_the_printed_qr_code_leads_to_a_verification_that_follows_the_status(
    served: tuple[str, Registry], page: Any
) -> None:
    url, reg = served
    cert = certificate(reg.db, 1)
    with reg.db.transaction() as s:
        cred = service.issue_for_certificate(s, APPROVER, cert.id)

    page.goto(url + "/credentials")
    assert "/login" in page.url
    page.fill("#username", "xiaomei")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/credentials")
    page.click(f"a[href='/credentials/{cred.id}']")
    page.wait_for_selector("#qr-link")
    page.wait_for_load_state("load")  # the QR image is in
    assert page.locator("#qr-link").evaluate("img => img.naturalWidth") > 0
    assert page.inner_text("#credential-status") == "有效"
    shot(page, "credentials-holder-zh")
    page.emulate_media(media="print")  # what the print button gives: the certificate and its code alone
    assert not page.locator(".site-header").is_visible() and not page.locator("#print-credential").is_visible()
    assert page.locator("#qr-link").is_visible()
    shot(page, "credentials-holder-print")
    page.emulate_media(media="screen")

    target = scan(page, "#qr-link")
    assert target == f"{url}/verify/{cred.id}"

    # the printable PDF from the page's link: its text, and its page as an image for the record
    with page.expect_download() as started:
        page.click("#credential-pdf")
    pdf = pdfium.PdfDocument(Path(started.value.path()).read_bytes())
    assert "食品经营许可证" in pdf[0].get_textpage().get_text_range()
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    pdf[0].render(scale=1.5).to_pil().save(OUTPUT / "screenshots" / "credentials-printout-zh.png")

    # the offline code carries the whole credential: it checks against the published JWKS alone
    page.click("details.cred-offline summary")
    offline = scan(page, ".cred-qr-full")
    assert offline == cred.jwt
    keyset = pyjwt.PyJWKSet.from_dict(page.request.get(url + "/.well-known/jwks.json").json())
    kid = pyjwt.get_unverified_header(offline)["kid"]
    claims = pyjwt.decode(offline, key=next(k for k in keyset.keys if k.key_id == kid), algorithms=["EdDSA"])
    assert claims["credentialSubject"]["certificate"]["number"] == cert.number

    verifier = page.context.browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True
    )  # someone else's phone: not signed in
    other = verifier.new_page()
    try:
        other.goto(target)
        assert other.get_attribute("#verify-result", "data-valid") == "true"
        assert other.inner_text("#verify-status") == "有效"
        assert other.inner_text("#fact-holder") == "上海小梅餐饮店"  # a firm's name is public
        shot(other, "credentials-verify-valid-zh")

        with reg.db.transaction() as s:
            service.change_status(s, APPROVER, cred.id, "revoked", "经营场所已关闭")
        other.goto(target)
        assert other.get_attribute("#verify-result", "data-valid") == "false"
        assert other.get_attribute("#verify-result", "data-status") == "revoked"
        assert "颁发机构已撤销该证照" in other.inner_text("#verify-errors")
        shot(other, "credentials-verify-revoked-zh")

        # the JWT pasted into the form, one character changed: refused, in English this time
        other.goto(url + "/lang/en?next=/verify")
        changed = cred.jwt[:-3] + ("A" if cred.jwt[-3] != "A" else "B") + cred.jwt[-2:]
        other.fill("#c", changed)
        other.click("#verify-form button[type=submit]")
        other.wait_for_selector("#verify-result")
        assert other.get_attribute("#verify-result", "data-valid") == "false"
        assert "The signature does not match" in other.inner_text("#verify-errors")
        shot(other, "credentials-verify-tampered-en")
    finally:
        verifier.close()
    assert not page.problems


def test_an_officer_suspends_from_the_page(served: tuple[str, Registry], page: Any) -> None:
    url, reg = served
    with reg.db.transaction() as s:
        cred = service.issue_for_certificate(s, APPROVER, certificate(reg.db, 2).id)
    page.goto(f"{url}/login?next=/credentials/{cred.id}")
    page.fill("#username", "li.approver")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#staff-actions")
    page.fill("#reason", "食品安全抽检不合格，整改期间暂停")
    shot(page, "credentials-officer-zh")
    page.click("#to-suspended")
    page.wait_for_selector("#to-active")
    assert page.inner_text("#credential-status") == "已暂停"
    page.goto(f"{url}/verify/{cred.id}")
    assert page.get_attribute("#verify-result", "data-status") == "suspended"
    assert not page.problems
