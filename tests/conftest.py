"""Shared fixtures: a migrated database on each backend, the app, brokers, and factories.

Every database test runs twice, on SQLite (the embedded default) and on PostgreSQL. Locally
an unreachable PostgreSQL, NATS or Mosquitto skips the tests that need it; with ``CI=true``
it fails them, so CI can never pass by skipping.

A run leaves nothing that changes the next one (``bench/_runs.py``): its PostgreSQL database
is ``onecity_test_<pid>`` and its JetStream streams ``TEST_<pid>_*``, removed at the end and, if
the run was killed before that, by the next run's start; MQTT tests talk to a Mosquitto of the
run's own that dies with it (or, with ``ONECITY_TEST_MQTT_URL`` set, use share groups of their
own with a short session expiry).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from bench._runs import mosquitto_path, private_mosquitto, sweep_postgres, sweep_streams
from onecity.core import migrate
from onecity.core.config import Environment, Settings
from onecity.core.db import Database
from onecity.core.identity import service
from onecity.core.identity.models import Agency, User
from onecity.core.identity.principal import system_principal
from onecity.core.identity.roles import PrincipalKind, Role

pytest_plugins = ["tests.browser_support"]

# the settings of a demo run in this checkout (its onecity.env) never reach the tests or what they start
os.environ["ONECITY_ENV_FILE"] = "none"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_ADMIN_URL = os.environ.get("ONECITY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("ONECITY_TEST_NATS_URL", "nats://127.0.0.1:4222")
#: A broker to test against; unset (the default), the run starts a Mosquitto of its own.
MQTT_URL = os.environ.get("ONECITY_TEST_MQTT_URL")
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
PASSWORD = "Correct-horse-9"
SYSTEM = system_principal("tests")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need_service(name: str, host: str, port: int) -> None:
    """Skip locally, fail in CI, when a real server the test needs is not there."""
    if not reachable(host, port):
        message = f"{name} is not reachable at {host}:{port}"
        if IN_CI:
            pytest.fail(message + " (CI requires it)")
        pytest.skip(message)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Before this run creates anything: drop the databases and streams of runs that were killed
    before their teardown (their names carry a pid that is no longer alive)."""
    if reachable("127.0.0.1", 5432):
        sweep_postgres(PG_ADMIN_URL)
    host, _, port = NATS_URL.split("://", 1)[-1].rpartition(":")
    if reachable(host or "127.0.0.1", int(port)):
        sweep_streams(NATS_URL)


# -- databases ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    need_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"onecity_test_{os.getpid()}"
    admin = Database(PG_ADMIN_URL)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    yield url
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# -- brokers ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    """The MQTT broker of this run: ``ONECITY_TEST_MQTT_URL`` if set, else a Mosquitto of its own.

    A broker of its own is what makes a run independent of every earlier one: no persistent
    session, share-group member or retained message survives it, and a concurrent run's
    readings (same topics, ``v1.1/Datastreams(1)/…``) never reach this run's workers."""
    if MQTT_URL:
        from onecity.sensing.mqtt import broker_address

        need_service("Mosquitto", *broker_address(MQTT_URL))
        yield MQTT_URL
        return
    if mosquitto_path() is None:
        message = "Mosquitto is not installed (apt-get install mosquitto)"
        if IN_CI:
            pytest.fail(message + " (CI requires it)")
        pytest.skip(message)
    with private_mosquitto() as url:
        yield url


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The NATS server (the streams killed runs left on it were deleted at the session's start)."""
    host, _, port = NATS_URL.split("://", 1)[-1].rpartition(":")
    need_service("NATS", host or "127.0.0.1", int(port))
    return NATS_URL


KEEP_TABLES = frozenset({"divisions", "alembic_version"})
#: A table holding more rows than this is truncated rather than deleted from.
_MANY_ROWS = 5000


def empty_pg(db: Database, keep: Collection[str] = KEEP_TABLES, *, end_others: bool = True) -> None:
    """Empty every table of the test database but ``keep`` and restart their sequences: what a copy of
    the migrated template is on SQLite (numbers start at 1 in every test, the audit log's among them).

    A test leaves rows in a few of the seventy-odd tables: those are found with one query and their
    rows deleted. TRUNCATE of every table, as this once did, gives each table and index new files:
    1.4 to 3.5 s a test on this machine under load, against 0.05 s for the probe and the deletes. A
    table holding thousands of rows (a seeded city, the geography) is still truncated, and with it
    whatever refers to it. The tables are the database's own, not the models imported so far, so a
    run of one test file empties the tables of parts it never imported too.

    ``end_others`` ends the database's other connections first: one left behind by an earlier test
    (a worker thread still in a transaction) would make the deletes wait for ever; pools reconnect
    (an idle connection is pinged before use).
    """
    with db.engine.begin() as conn:
        if end_others:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        conn.execute(text("SET LOCAL lock_timeout = '60s'"))
        # past the append-only trigger; foreign keys unchecked: every table but ``keep`` is emptied
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
        tables = sorted(set(names.scalars()) - set(keep))
        probe = " UNION ALL ".join(
            f"SELECT '{t}', (SELECT count(*) FROM (SELECT 1 FROM \"{t}\" LIMIT {_MANY_ROWS + 1}) AS r)" for t in tables
        )
        filled = {t: n for t, n in conn.execute(text(probe)) if n} if tables else {}
        big = [t for t, n in filled.items() if n > _MANY_ROWS]
        if big:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in big) + " CASCADE"))
        for t in filled:
            if t not in big:
                conn.execute(text(f'DELETE FROM "{t}"'))
        # the sequences of the emptied tables' serial and identity columns that were used
        used = conn.execute(
            text(
                "SELECT s.relname FROM pg_class s "
                "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
                "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
                "JOIN pg_class t ON t.oid = d.refobjid "
                "JOIN pg_sequences q ON q.schemaname = current_schema() AND q.sequencename = s.relname "
                "WHERE s.relkind = 'S' AND q.last_value IS NOT NULL AND NOT (t.relname = ANY(:keep))"
            ),
            {"keep": list(keep)},
        )
        for seq in used.scalars():
            conn.execute(text(f'ALTER SEQUENCE "{seq}" RESTART'))


def _truncate_pg(db: Database) -> None:
    """Every table emptied but the reference divisions (:func:`empty_pg`)."""
    empty_pg(db)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database with reference divisions and nothing else, fresh for each test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "onecity.db"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("pg_url")
        database = Database(url)
        _truncate_pg(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(
        env=Environment.TEST,
        database_url=db.url,
        secret_key=secrets.token_urlsafe(48),
        bus_url="memory://",
        outbox_poll_seconds=0.05,
    )


@pytest.fixture
def app(settings: Settings, db: Database) -> Any:
    from onecity.api.app import create_app

    return create_app(settings, db=db)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


# -- factories (through the public service functions) ---------------------------------------

XUHUI = "310104000000"
TIANPINGLU = "310104003000"  # 天平路街道, a township in Xuhui
HUANGPU = "310101000000"
WAITAN = "310101013000"  # 外滩街道, Huangpu
CITY = "310000000000"


@pytest.fixture
def make_agency(db: Database) -> Callable[..., Agency]:
    def _make(code: str, division_code: str, name: str | None = None) -> Agency:
        with db.transaction() as session:
            return service.create_agency(
                session,
                SYSTEM,
                code=code,
                name=name or f"机构{code}",
                name_en=name or f"Agency {code}",
                division_code=division_code,
            )

    return _make


@pytest.fixture
def make_user(db: Database, make_agency: Callable[..., Agency]) -> Callable[..., User]:
    agencies: dict[str, Agency] = {}

    def _make(
        username: str,
        *roles: Role,
        division_code: str | None = XUHUI,
        kind: PrincipalKind = PrincipalKind.STAFF,
        agency_code: str | None = None,
        password: str = PASSWORD,
    ) -> User:
        if kind is PrincipalKind.STAFF and agency_code is None:
            assert division_code is not None
            agency_code = f"gov-{division_code[:6]}"
            if agency_code not in agencies:
                agencies[agency_code] = make_agency(agency_code, division_code[:6] + "000000")
        with db.transaction() as session:
            return service.create_user(
                session,
                SYSTEM,
                username=username,
                password=password,
                kind=kind,
                roles=list(roles),
                agency_code=agency_code,
                division_code=division_code,
            )

    return _make


@pytest.fixture
def login(client: TestClient) -> Callable[[str], dict[str, str]]:
    def _login(username: str, password: str = PASSWORD) -> dict[str, str]:
        r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return _login
