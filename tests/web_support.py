"""Signing in to the web pages through a ``TestClient`` as a browser would.

Forms are fetched first and their CSRF token is taken from the HTML; the sign-in form is
posted with it. The Playwright counterpart is ``sign_in_page`` in ``tests/browser_support.py``.
"""

from __future__ import annotations

import html
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from tests.conftest import PASSWORD


def app_of(client: TestClient) -> FastAPI:
    """The application behind ``client`` (the test client types it as any ASGI app)."""
    assert isinstance(client.app, FastAPI), client.app
    return client.app


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf(page: Response | str) -> str:
    """The CSRF token of the (first) form on ``page``, a response or its text."""
    text = page if isinstance(page, str) else page.text
    found = CSRF_FIELD.search(text)
    assert found, "the page has no form with a CSRF token"
    return html.unescape(found.group(1))


def post_sign_in(client: TestClient, username: str, password: str = PASSWORD, next_path: str = "/") -> Response:
    """Fetch the sign-in form and post it; the answer, whatever it is (a wrong password gets 401)."""
    token = csrf(client.get("/login"))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        follow_redirects=False,
    )


def sign_in(client: TestClient, username: str, password: str = PASSWORD, next_path: str = "/") -> Response:
    """Sign ``username`` in on ``client``'s cookies; fails the test unless the form redirects (303)."""
    r = post_sign_in(client, username, password, next_path)
    assert r.status_code == 303, r.text
    return r
