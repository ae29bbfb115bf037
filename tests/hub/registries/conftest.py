"""Fixtures of the registry tests: one city seeded at 1:1000 per backend for the whole session
(loading the full geography takes seconds, so it is done once), and fresh scratch databases."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import delete, text

from onecity.cli import main
from onecity.core import migrate
from onecity.core.config import get_settings
from onecity.core.db import Database
from onecity.core.divisions import Division
from tests.conftest import PG_ADMIN_URL, _truncate_pg, need_service
from tests.hub.registries.city import build_small_city, small_city_codes


def run_cli(args: list[str]) -> int:
    """Run ``onecity ...`` in-process with a test environment (the commands read settings from it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONECITY_ENV", "test")
        mp.setenv("ONECITY_SECRET_KEY", secrets.token_urlsafe(48))
        get_settings.cache_clear()
        try:
            return main(args)
        finally:
            get_settings.cache_clear()


@contextmanager
def _scratch(backend: str, template: Path, tmp: Path, migrated: bool = True) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp / f"scratch-{secrets.token_hex(4)}.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    need_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"onecity_test_reg_{os.getpid()}_{secrets.token_hex(3)}"
    admin = Database(PG_ADMIN_URL)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        yield url
    finally:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def scratch_db(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], AbstractContextManager[str]]:
    """Make more fresh, migrated databases on the test's backend (for comparing two seeds)."""
    template: Path = request.getfixturevalue("sqlite_template") if backend == "sqlite" else Path()
    return lambda: _scratch(backend, template, tmp_path)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def seeded_city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a database holding the full geography and registries seeded at 1:1000 with seed 1."""
    backend = str(request.param)
    template: Path = request.getfixturevalue("sqlite_template") if backend == "sqlite" else Path()
    with _scratch(backend, template, tmp_path_factory.mktemp("seeded")) as url:
        assert run_cli(["seed", "--scale", "0.001", "--seed", "1", "--database", url, "--quiet"]) == 0
        yield url


@pytest.fixture
def small_city(db: Database, backend: str) -> Iterator[Database]:
    """``db`` with the small test city; on PostgreSQL its division rows are removed afterwards,
    since the shared test database keeps ``divisions`` from one test to the next."""
    with db.transaction() as session:
        build_small_city(session)
    yield db
    if backend == "postgresql":
        _truncate_pg(db)
        with db.transaction() as session:
            session.execute(delete(Division).where(Division.code.in_(small_city_codes())))
