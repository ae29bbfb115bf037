"""What every browser test shares: a live server on a database, Debian's Chromium, screenshots.

A real uvicorn server runs in a thread against a migrated SQLite file; headless Chromium
(Debian's package) drives it through Playwright. Without Chromium (or the vendored ECharts)
the tests skip locally and fail in CI. The ``browser`` and ``page`` fixtures are available
to every test (``pytest_plugins`` in ``tests/conftest.py``).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from onecity.core.config import Environment, Settings
from onecity.core.db import Database
from tests.conftest import IN_CI

CHROMIUM = os.environ.get("ONECITY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
VENDORED_ECHARTS = ROOT / "onecity" / "web" / "static" / "vendor" / "echarts.min.js"


def need(condition: bool, message: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(message + " (CI requires it)")
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(db: Database, name: str) -> Iterator[str]:
    """Serve the whole platform on ``db`` on a free port; yields its base URL."""
    import uvicorn

    from onecity.api.app import create_app

    settings = Settings(
        env=Environment.TEST,
        database_url=db.url,
        secret_key=secrets.token_urlsafe(48),
        bus_url="memory://",
        outbox_poll_seconds=0.2,
    )
    port = free_port()
    uv = uvicorn.Server(
        uvicorn.Config(create_app(settings, db=db), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=uv.run, name=f"uvicorn-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    need(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM}")
    need(VENDORED_ECHARTS.exists(), "ECharts is not vendored: run `npm ci && python scripts/vendor_assets.py`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def watched_page(browser: Any) -> Iterator[Any]:
    """A Chinese-locale tab whose ``problems`` collects script errors and CSP violations."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for a test module (a fixture of every test, registered in tests/conftest.py)."""
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with watched_page(browser) as pg:
        yield pg


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in_page(page: Any, base: str, username: str, target: str, *, password: str, then: str | None = None) -> None:
    """Open ``base + target`` signed out, sign in on the form it sends the tab to, and wait to be
    back (or at ``then``: open ``/login?next=…`` for a page that does not ask for a sign-in)."""
    page.goto(base + target)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form.form button[type=submit]")
    page.wait_for_url(base + (then or target))
