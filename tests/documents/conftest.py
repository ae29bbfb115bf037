"""Fixtures of the document tests.

* ``corpus_roster`` — a registry seeded once per session (SQLite, 1:5000 of Shanghai) and the
  roster the corpus prints from: enough for the OCR tests, which need no second backend;
* ``ocr`` — one rapidocr engine and one in-memory OCR cache for the session, so each image
  is recognised once however many tests read it;
* ``registry`` — a database per backend (SQLite and PostgreSQL) with the small test city seeded
  at 1:5000 once per session, for the cross-checks and rules that read the registries through
  their services.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import onecity.hub.registries.service  # noqa: F401  (registers hub.registry.seed, which seeding checks)
from onecity.core.db import Database
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.documents.ocr import MemoryOcrCache, RapidOcrEngine
from onecity.synth.corpus import Roster, load_roster
from onecity.synth.registries.seed import seed
from tests.conftest import SYSTEM
from tests.hub.registries.city import build_small_city
from tests.hub.registries.conftest import _scratch

CITY = "310000000000"


@pytest.fixture(scope="session")
def corpus_db(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path = tmp_path_factory.mktemp("corpus") / "registry.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    with db.transaction() as session:
        build_small_city(session)
    seed(db, 0.0002, 5, SYSTEM, out=None)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def corpus_roster(corpus_db: Database) -> Roster:
    with corpus_db.sessions() as session:
        return load_roster(session, seed=5)


class Ocr:
    def __init__(self) -> None:
        self.engine = RapidOcrEngine(threads=1)
        self.cache = MemoryOcrCache()


@pytest.fixture(scope="session")
def ocr() -> Ocr:
    return Ocr()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database per backend holding the small test city with its registries seeded (seed 3,
    1:5000), shared by the cross-check and rule tests (seeding per test would cost minutes)."""
    backend = str(request.param)
    template: Path = request.getfixturevalue("sqlite_template") if backend == "sqlite" else Path()
    with _scratch(backend, template, tmp_path_factory.mktemp("registry")) as url:
        db = Database(url)
        with db.transaction() as session:
            build_small_city(session)
        seed(db, 0.0002, 3, SYSTEM, out=None)
        db.dispose()
        yield url


@pytest.fixture
def registry(registry_url: str) -> Iterator[Database]:
    db = Database(registry_url)
    yield db
    db.dispose()


def reviewer(division: str = CITY) -> Principal:
    """A city-level reviewer: what a pre-review runs as."""
    return Principal(
        kind=PrincipalKind.STAFF,
        id="staff-reviewer",
        name="reviewer",
        roles=frozenset({Role.REVIEWER}),
        agency_id=None,
        division_code=division,
    )
