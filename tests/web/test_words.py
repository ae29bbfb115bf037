"""Every word in the reader's language: the words crawler over every demo persona, in Chinese and English.

Signs in as each account ``onecity.demo`` makes (and as nobody), visits every page reachable
from the navigation (``tests/web/words.py``: same-site links, at most two pages of a shape)
and fails on raw keys, identifiers and codes in what people read, and on text in the other
language. Runs on SQLite only: it is about words, which do not depend on the backend, and a
second city would double its minute.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from onecity.core.db import Database
from tests.conftest import OUTPUT
from tests.web import demo_city
from tests.web.words import Crawl, Problem, crawl_persona, shape

#: Pages being rebuilt by others this session, left out with the reason (and reported): the
#: crawler still visits them and follows their links, but does not hold their words against them.
REBUILDING: dict[str, str] = {}


def allowed(problem: Problem) -> bool:
    return shape(problem.path).split("?", 1)[0] in REBUILDING


@pytest.fixture(scope="module")
def demo_app(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    from onecity.api.app import create_app
    from onecity.core.config import Environment, Settings

    path = tmp_path_factory.mktemp("words") / "city.db"
    creds = demo_city.build(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    settings = Settings(
        env=Environment.TEST, database_url=db.url, secret_key="words-crawler-" + "k" * 40, bus_url="memory://"
    )
    yield create_app(settings, db=db), creds
    db.dispose()
    shutil.rmtree(path.parent, ignore_errors=True)


def test_every_page_in_the_readers_language(demo_app: tuple[Any, dict[str, str]]) -> None:
    app, creds = demo_app
    started = time.perf_counter()
    crawls: list[Crawl] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for lang in ("zh", "en"):
            anonymous = crawl_persona(client, "(anonymous)", None, lang, allowed=allowed)
            crawls.append(anonymous)
            public = set(anonymous.visited)
            for user, password in creds.items():
                crawls.append(crawl_persona(client, user, password, lang, allowed=allowed, checked=public))
    pages = sum(len(c.visited) for c in crawls)
    # the crawl's size, for a person to read (and the report): pages × personas × languages
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "words-crawler.json").write_text(
        json.dumps(
            {
                "pages": pages,
                "distinct_paths": len({p for c in crawls for p in c.visited}),
                "personas": len(creds) + 1,
                "languages": 2,
                "seconds": round(time.perf_counter() - started, 1),
                "by_persona": {f"{c.user} ({c.lang})": len(c.visited) for c in crawls},
                "not_held_against": REBUILDING,
            },
            ensure_ascii=False,
            indent=1,
        )
        + "\n"
    )
    failed = [f"{c.user} ({c.lang}) {path}: {status}" for c in crawls for path, status in c.failed]
    assert not failed, "pages that failed:\n" + "\n".join(failed)
    seen: dict[tuple[str, str, str], str] = {}
    for c in crawls:
        for p in c.problems:
            seen.setdefault((shape(p.path), p.kind, p.found), f"{c.user} ({c.lang}) {p}")
    assert not seen, f"{len(seen)} words not in the reader's language:\n" + "\n".join(sorted(seen.values()))
    assert len(creds) >= 13 and all(len(c.visited) >= 3 for c in crawls)
