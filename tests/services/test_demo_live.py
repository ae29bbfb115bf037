"""``onecity demo`` as a person starts it: in a process of its own, with the live simulation.

The demo says it is ready only once its pages answer; from then on, while the simulated city
writes to the same SQLite file, requests fired at it concurrently get no 5xx. In Chromium the
demo's own accounts walk a case through: the resident applies, the market regulation counter
clerk accepts it, the reviewer passes it, the approver approves it (the simulated officers leave
it to them), the resident opens the credential and its verification link leads to this demo's
port. Ctrl-C stops it cleanly, with no traceback anywhere in its output.

The city is the services tests' small seeded one (the demo seeds only an empty database), so
the whole module takes well under a minute beside the browser walk.
"""

from __future__ import annotations

import concurrent.futures
import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest

from bench._runs import orphanless
from onecity.core.db import Database
from tests.browser_support import free_port, shot
from tests.conftest import PASSWORD
from tests.qr_support import read_qr
from tests.services.conftest import FOOD, PDF, load_city

#: A material still to upload (an uploaded one keeps its form, to replace it).
MISSING = "#case-materials li:has(span.svc-missing)"
pytestmark = pytest.mark.timeout(420)  # a loaded two-core machine; about 100 s otherwise
ROOT = Path(__file__).resolve().parents[2]
#: What the concurrent requests ask for: the pages people open first, and the public API.
PATHS = ("/", "/services", "/login", "/api/v1/health", "/verify", f"/services/items/{FOOD}")


@dataclass
class Demo:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    passwords: dict[str, str]

    def log(self) -> str:
        return (self.home / "demo.log").read_text(encoding="utf-8", errors="replace")

    def password(self, username: str) -> str:
        return self.passwords.get(username, PASSWORD)  # an account the test city had before the demo


@pytest.fixture(scope="module")
def demo(services_sqlite_city: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("demo")
    (home / "var").mkdir()
    shutil.copy(services_sqlite_city, home / "var" / "onecity.db")
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    with (home / "demo.log").open("wb") as log:
        process = subprocess.Popen(
            orphanless([sys.executable, "-m", "onecity", "demo", "--port", str(port), "--speed", "600"]),
            cwd=home,
            env={**env, "ONECITY_ENV": "demo"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    found = Demo(url, home, process, {})
    try:
        deadline = time.monotonic() + 180
        while "open:" not in found.log():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the demo did not say it was ready:\n" + found.log()[-3000:])
            time.sleep(0.2)
        found.passwords = json.loads((home / "var" / "demo-credentials.json").read_text())
        yield found
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def get(url: str) -> tuple[int, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            answer.read()
            return answer.status, time.monotonic() - started
    except urllib.error.HTTPError as err:
        return err.code, time.monotonic() - started


def test_the_demo_answers_once_it_says_so_while_the_city_lives(demo: Demo) -> None:
    assert f"open:  {demo.url}/" in demo.log()
    status, took = get(demo.url + "/")  # the very first request after the address was printed
    assert status == 200 and took < 10, (status, took)
    assert (demo.home / "onecity.env").read_text().startswith("# written by `onecity demo`")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda p: (p, *get(demo.url + p)), PATHS * 12))
    failed = [(path, status) for path, status, _ in answers if status >= 500]
    assert not failed, failed
    latencies = sorted(t for _, _, t in answers)
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    sys.stderr.write(f"demo under the live city: {len(answers)} requests, p99 {p99:.2f} s\n")
    assert p99 < 15, p99  # a loaded CI machine; a stall on SQLite's writer lasted 30 s and ended in a 500


def _sign_in(page: Any, demo: Demo, username: str, target: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{demo.url}/login?next={target}")
    page.fill("#username", username)
    page.fill("#password", demo.password(username))
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"**{target}")


def _do(page: Any, number: str, outcome: str) -> None:
    """Complete this case's task on the workbench (the queue also holds the simulated city's cases:
    found by its number), confirming a decision."""
    page.fill("#queue-q", number)
    page.click("#queue-search button[type=submit]")
    row = page.locator(f"#queue tr[data-case='{number}']")
    row.wait_for()
    row.locator("a.button-primary").click()
    page.click(f"#task-decision button[data-outcome={outcome}]")
    page.wait_for_load_state()
    if outcome in ("approve", "refuse"):
        page.click("#confirm-decision")
        page.wait_for_load_state()


@pytest.mark.browser
def test_the_demo_accounts_take_a_case_to_a_credential(demo: Demo, page: Any, tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(PDF)
    db = Database(f"sqlite:///{demo.home / 'var' / 'onecity.db'}")
    try:
        city = load_city(db)  # the demo resident is the test city's, linked to a Xuhui firm's representative
    finally:
        db.dispose()
    _sign_in(page, demo, "resident", "/services")
    page.goto(f"{demo.url}/services/items/{FOOD}")
    page.select_option("#apply-firm", city.firm.uscc)  # one of "my firms"
    page.click("#apply")
    page.wait_for_url("**/services/cases/*")
    while page.locator(MISSING + " input[type=file]").count():
        page.locator(MISSING + " input[type=file]").first.set_input_files(str(scan))
        page.locator(MISSING + " form[enctype] button").first.click()
        page.wait_for_load_state()
    page.select_option("#f-business_items", "热食类食品制售")
    page.fill("#f-floor_area_m2", "85")
    page.click("#save-form")
    page.click("#submit-case")
    page.wait_for_selector(".svc-submitted")
    number = page.locator("h1 .code").inner_text().strip()
    shot(page, "demo-resident-submitted")
    for user, outcome in (("samr.clerk", "accept"), ("samr.reviewer", "pass"), ("samr.approver", "approve")):
        _sign_in(page, demo, user, "/services/work")
        _do(page, number, outcome)
        shot(page, f"demo-{user}")
    _sign_in(page, demo, "resident", "/services")
    page.click(f"#my-cases a.code:has-text('{number}')")
    page.click("#credential-link")
    page.wait_for_url("**/credentials/*")
    link = page.get_attribute("#verify-link", "href")
    assert link is not None and link.startswith(demo.url + "/verify/"), link  # the public URL follows the port
    shot(page, "demo-credential")
    # the printable PDF: its QR code opens the same check (at this demo's port)
    with page.expect_download() as started:
        page.click("#credential-pdf")
    printout = pdfium.PdfDocument(Path(started.value.path()).read_bytes())[0]
    assert read_qr(printout) == link
    assert "食品经营许可证" in printout.get_textpage().get_text_range()
    page.goto(link)
    assert page.get_attribute("#verify-result", "data-valid") == "true"
    shot(page, "demo-verify")
    page.goto(f"{demo.url}/lang/en?next={link[len(demo.url) :]}")  # the same check, read in English
    assert page.get_attribute("#verify-result", "data-valid") == "true" and page.get_attribute("html", "lang") == "en"
    shot(page, "demo-verify-en")
    # the Tianpinglu counter finds the same resident's cases wherever in the city they are registered (全市通办)
    _sign_in(page, demo, "xuhui.clerk", "/services/counter")
    page.fill("#counter-id", city.rep.id_number)
    page.check("#counter-find-checked")
    page.click("form[action='/services/counter'] button")
    page.locator(f"#counter-cases li:has-text('{number}')").wait_for()
    shot(page, "demo-counter-citywide")
    assert page.problems == []


def test_the_demo_stops_cleanly(demo: Demo) -> None:
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(60) == 0
    log = demo.log()
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
