"""Databases holding part of the generated geography's grids, for the tests of their users.

Operations and sensing locate points with the database's grids (``grid_index``), so their
tests need grids in their databases. The whole city takes seconds to load; Xuhui and Huangpu
(2,387 grids, where every test point lies) take a fraction of one. On SQLite each test gets a
copy of a template holding them; on PostgreSQL they are loaded once per test package and kept
between its tests (every other table is emptied as usual), then removed, since the shared
test database keeps ``divisions`` between tests and other packages expect only the reference
divisions there. A conftest uses them with::

    from tests.grids import grids_db, grids_sqlite_template, pg_grids_url  # noqa: F401


    @pytest.fixture
    def db(grids_db: Database) -> Database:  # noqa: F811
        return grids_db
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from onecity.core.db import Database
from onecity.core.divisions import Division, DivisionLevel
from onecity.hub.geography import index
from onecity.hub.geography.models import DivisionShape, Grid
from onecity.synth.geography.load import load_geography
from tests.conftest import KEEP_TABLES, _truncate_pg, empty_pg

#: Xuhui and Huangpu: every fixed test point and division lies in one of them.
DISTRICTS = ("310104000000", "310101000000")
#: Tables kept between the tests of a package on PostgreSQL.
GEOGRAPHY_TABLES = KEEP_TABLES | {Grid.__tablename__, DivisionShape.__tablename__}


def load_districts(database: Database) -> None:
    with database.transaction() as session:
        for code in DISTRICTS:
            load_geography(session, within=code)


def remove_geography(database: Database) -> None:
    """PostgreSQL only: TRUNCATE the big tables (instant; CASCADE empties what refers to grids), then
    the communities and villages."""
    with database.transaction() as session:
        session.execute(text(f'TRUNCATE "{Grid.__tablename__}", "{DivisionShape.__tablename__}" CASCADE'))
        session.execute(delete(Division).where(Division.level == DivisionLevel.COMMUNITY))
        index.forget(session)  # the process-wide grid index must not outlive the grids it was built from


def truncate_all_but_geography(database: Database) -> None:
    """Every table emptied but the reference divisions and the grids (:func:`tests.conftest.empty_pg`;
    the package's other connections are left alone, as they always were here)."""
    empty_pg(database, GEOGRAPHY_TABLES, end_others=False)


@pytest.fixture(scope="session")
def grids_sqlite_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("grids") / "grids.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    load_districts(database)
    database.dispose()
    return path


@pytest.fixture(scope="package")
def pg_grids_url(pg_url: str) -> Iterator[str]:
    database = Database(pg_url)
    _truncate_pg(database)
    remove_geography(database)  # communities another package may have left in ``divisions``
    load_districts(database)
    yield pg_url
    _truncate_pg(database)
    remove_geography(database)
    database.dispose()


@pytest.fixture
def grids_db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database holding the reference divisions and Xuhui's and Huangpu's grids."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("grids_sqlite_template")
        path = tmp_path / "onecity.db"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_grids_url"))
        truncate_all_but_geography(database)
        with database.sessions() as session:  # say so here, not as a "no grids" deep in a later test
            assert session.scalar(select(Grid.code).limit(1)), (
                "an earlier test of this package removed the package's grids: "
                "clean up with truncate_all_but_geography, not a full truncation"
            )
    yield database
    database.dispose()
