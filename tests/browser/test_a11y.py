"""Accessibility in a real browser: axe-core on every kind of page, as the demo personas, and 长辈版.

axe-core (npm, vendored by ``scripts/vendor_assets.py``; evaluated into the page by the test,
so it never ships in a page nor needs a CSP exception) checks each page after it has drawn;
a serious or critical violation fails the test with its rule, the elements and axe's advice.
Large-text mode is checked to enlarge every control: inputs, selects and buttons as well as text.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onecity.core.db import Database
from tests.browser_support import ROOT, live_server, need, shot, sign_in_page, watched_page
from tests.web import demo_city

pytestmark = pytest.mark.browser

AXE = ROOT / "onecity" / "web" / "static" / "vendor" / "axe" / "axe.min.js"

#: (persona or None for a visitor, the pages they open): one of every kind of page there is.
WALK: list[tuple[str | None, list[str]]] = [
    (
        None,
        [
            "/",
            "/login",
            "/login/register",
            "/login/forgot",
            "/services",
            "/services/items/310000-01-00040-001",
            "/services/bundles/have-a-baby",
            "/verify",
        ],
    ),
    ("resident", ["/services", "/me/data", "/me/inbox", "/services/powers"]),
    ("xuhui.clerk", ["/services/counter", "/services/work"]),
    ("samr.reviewer", ["/services/work", "/services/performance"]),
    ("admin", ["/admin/users", "/catalogue", "/catalogue/hub.person", "/divisions", "/divisions/310104000000"]),
    ("auditor", ["/audit", "/sharing"]),
    ("hotline", ["/ops", "/ops/hotline"]),
    ("city.operator", ["/sensing", "/sensing/rules"]),
]


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    need(AXE.exists(), "axe-core is not vendored: run `npm ci && python scripts/vendor_assets.py`")
    path = tmp_path_factory.mktemp("a11y") / "city.db"
    creds = demo_city.build(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    with live_server(db, "a11y-tests") as url:
        yield url, creds
    db.dispose()
    shutil.rmtree(path.parent, ignore_errors=True)


def axe_problems(page: Any, minor: list[str]) -> list[str]:
    """The page's serious and critical violations, one line each (the moderate and minor ones go to ``minor``)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert len(result["passes"]) >= 10, "axe-core did not run its checks"
    out = []
    for v in result["violations"]:
        if v["impact"] not in ("serious", "critical"):
            minor.append(f"{v['id']} ({v['impact']}): {v['help']}")
        if v["impact"] in ("serious", "critical"):
            targets = ", ".join(" ".join(n["target"]) for n in v["nodes"][:4])
            out.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])}×): {v['help']} — {targets}")
    return out


def test_every_kind_of_page_passes_axe(demo: tuple[str, dict[str, str]], browser: Any) -> None:
    url, creds = demo
    found: dict[str, list[str]] = {}
    minor: dict[str, list[str]] = {}
    for user, paths in WALK:
        with watched_page(browser) as page:
            if user:
                sign_in_page(page, url, user, "/login?next=/", password=creds[user], then="/")
            for path in paths:
                page.goto(url + path)
                page.wait_for_load_state("networkidle")
                problems = axe_problems(page, minor.setdefault(f"{user or 'visitor'} {path}", []))
                if path in ("/", "/services/work", "/audit", "/admin/users"):
                    shot(page, f"a11y-{(user or 'visitor').replace('.', '-')}{path.replace('/', '-')}")
                if problems:
                    found[f"{user or 'visitor'} {path}"] = problems
    # the rest, for a person to read: moderate and minor findings per page
    (ROOT / "test-output").mkdir(exist_ok=True)
    (ROOT / "test-output" / "axe-minor.json").write_text(
        json.dumps({k: v for k, v in minor.items() if v}, ensure_ascii=False, indent=1) + "\n"
    )
    assert not found, "serious or critical accessibility violations:\n" + "\n".join(
        f"{where}:\n  " + "\n  ".join(p) for where, p in found.items()
    )


#: Pages whose forms hold every kind of control: text, search, date, select, checkbox, buttons.
CONTROLS: list[tuple[str | None, str]] = [
    (None, "/login"),
    ("xuhui.clerk", "/services/counter"),
    ("auditor", "/audit"),
    ("admin", "/admin/users"),
    ("resident", "/services/powers"),
    ("resident", "/account/password"),
]


def test_large_text_mode_enlarges_every_control(demo: tuple[str, dict[str, str]], browser: Any) -> None:
    url, creds = demo
    small: dict[str, list[str]] = {}
    for user, path in CONTROLS:
        with watched_page(browser) as page:
            if user:
                sign_in_page(page, url, user, "/login?next=/", password=creds[user], then="/")
            page.goto(f"{url}/a11y/large?next={path}")
            page.wait_for_selector("body.large-text")
            sizes: list[dict[str, Any]] = page.evaluate("""() => [...document.querySelectorAll(
                    'main input:not([type=hidden]), main select, main textarea, main button')]
                .filter(el => el.offsetParent !== null)
                .map(el => ({
                    what: el.tagName.toLowerCase() + (el.type ? '[' + el.type + ']' : '') + (el.id ? '#' + el.id : ''),
                    font: parseFloat(getComputedStyle(el).fontSize),
                    height: el.getBoundingClientRect().height}))""")
            assert sizes, f"{path} has no controls to check"
            bad = [
                f"{s['what']}: {s['font']:.0f}px text, {s['height']:.0f}px tall"
                for s in sizes
                if s["font"] < 20 or (s["height"] < 44 and "checkbox" not in s["what"] and "radio" not in s["what"])
            ]
            if bad:
                small[path] = bad
            shot(page, f"large-text{path.replace('/', '-')}")
    assert not small, "controls not enlarged in 长辈版:\n" + "\n".join(f"{p}: {', '.join(b)}" for p, b in small.items())
