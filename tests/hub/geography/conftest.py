"""Fixtures for the geography tests: the generated city (once per session) and databases holding it.

Generating the city takes seconds and it never changes, so one generation serves every test.
``db`` is overridden here so that the root fixtures built on it (``settings``, ``app``,
``client``, ``make_user``) see a database with the whole geography loaded: on SQLite a copy of
a template loaded once; on PostgreSQL loaded afresh each test and removed afterwards, since
the shared test database keeps ``divisions`` between tests and other tests expect only the
reference divisions there.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from onecity.core.db import Database
from onecity.core.divisions import Division, DivisionLevel
from onecity.hub.geography.generate import Geography, generate_geography
from onecity.hub.geography.index import GeoIndex
from onecity.hub.geography.load import load_geography
from onecity.hub.geography.models import DivisionShape, Grid
from tests.conftest import _truncate_pg


@pytest.fixture(scope="session")
def geography() -> Geography:
    return generate_geography()


@pytest.fixture(scope="session")
def geo_index(geography: Geography) -> GeoIndex:
    return GeoIndex.from_geography(geography)


@pytest.fixture(scope="session")
def geo_sqlite_template(sqlite_template: Path, geography: Geography,
                        tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("geo") / "geography.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    with database.transaction() as session:
        load_geography(session, geography)
    database.dispose()
    return path


def _remove_geography(database: Database) -> None:
    with database.transaction() as session:
        session.execute(delete(Grid))
        session.execute(delete(DivisionShape))
        session.execute(delete(Division).where(Division.level == DivisionLevel.COMMUNITY))


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, tmp_path: Path, geography: Geography) -> Iterator[Database]:
    """A migrated database holding the reference divisions and the whole generated geography."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("geo_sqlite_template")
        path = tmp_path / "onecity.db"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_url"))
        _truncate_pg(database)
        _remove_geography(database)  # communities another test may have left in ``divisions``
        with database.transaction() as session:
            load_geography(session, geography)
    yield database
    if backend == "postgresql":
        _remove_geography(database)
    database.dispose()
