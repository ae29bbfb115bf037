"""Fixtures for the geography tests: the generated city (once per session) and databases holding it.

Generating the city takes seconds and it never changes, so one generation serves every test.
``db`` is overridden here so that the root fixtures built on it (``settings``, ``app``,
``client``, ``make_user``) see a database with the whole geography loaded: on SQLite a copy of
a template loaded once; on PostgreSQL loaded once for this package (every other table is
emptied between tests as usual) and removed after it, since the shared test database keeps
``divisions`` between tests and other packages expect only the reference divisions there.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from onecity.core.db import Database
from onecity.hub.geography.index import GeoIndex
from onecity.synth.geography.generate import Geography, generate_geography
from onecity.synth.geography.load import index_of, load_geography
from tests.conftest import _truncate_pg
from tests.grids import remove_geography, truncate_all_but_geography


@pytest.fixture(scope="session")
def geography() -> Geography:
    return generate_geography()


@pytest.fixture(scope="session")
def geo_index(geography: Geography) -> GeoIndex:
    return index_of(geography)


@pytest.fixture(scope="session")
def geo_sqlite_template(sqlite_template: Path, geography: Geography, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("geo") / "geography.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    with database.transaction() as session:
        load_geography(session, geography)
    database.dispose()
    return path


@pytest.fixture(scope="package")
def pg_geography_url(pg_url: str, geography: Geography) -> Iterator[str]:
    """The PostgreSQL test database with the geography loaded once for this package's tests, and
    taken out again after them (the rest of the suite expects reference divisions only)."""
    database = Database(pg_url)
    _truncate_pg(database)
    remove_geography(database)  # communities another package may have left in ``divisions``
    with database.transaction() as session:
        load_geography(session, geography)
    yield pg_url
    _truncate_pg(database)
    remove_geography(database)
    database.dispose()


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, tmp_path: Path, geography: Geography) -> Iterator[Database]:
    """A migrated database holding the reference divisions and the whole generated geography."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("geo_sqlite_template")
        path = tmp_path / "onecity.db"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_geography_url"))
        truncate_all_but_geography(database)
        with database.transaction() as session:
            load_geography(session)  # a no-op unless a test removed some of it
    yield database
    database.dispose()
