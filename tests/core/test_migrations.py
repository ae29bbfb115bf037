"""Migrations: a fresh database upgrades, the models agree with the migrations, downgrade works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from onecity.core import migrate
from onecity.core.db import Database
from onecity.core.divisions import Division, DivisionLevel


def head_revisions() -> list[str]:
    """Every head (one: see test_the_migrations_are_one_line_with_one_head)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate._config(Database("sqlite://"))).get_heads()
    assert heads
    return list(heads)


def test_the_migrations_are_one_line_with_one_head() -> None:
    """Every migration follows one parent, so `onecity db revision` knows where a new one goes
    and two parts' migrations have an order. A migration written beside another on the same
    parent (two branches landing at once) fails here: point its down_revision at the head."""
    heads = head_revisions()
    assert len(heads) == 1, f"the migrations have {len(heads)} heads: {sorted(heads)}"


def test_db_revision_writes_the_next_numbered_migration_after_the_head(db: Database, tmp_path: Path) -> None:
    """`onecity db revision` failed outright while the parts' branches left five heads."""
    made = migrate.revision(db, "Nothing changed, to see where it goes", directory=tmp_path / "versions")
    text_ = made.read_text(encoding="utf-8")
    (head,) = head_revisions()
    number = int(head[:4]) + 1
    assert made.name == f"{number:04d}_nothing_changed_to_see_where_it_goes.py"
    assert f"down_revision: str | Sequence[str] | None = {head!r}" in text_
    upgrade = text_.split("def upgrade() -> None:", 1)[1].split("def downgrade", 1)[0]
    assert "op." not in upgrade  # the models and the migrations agree: nothing to do


def test_models_and_migrations_agree(db: Database) -> None:
    """The migration-drift check: Alembic autogenerate must find nothing to do."""
    assert migrate.drift(db) == []


def test_reference_divisions_are_loaded_once(db: Database) -> None:
    with db.sessions() as session:
        # only the reference levels: a package using grids loads communities beside them for its tests
        reference = (DivisionLevel.MUNICIPALITY, DivisionLevel.DISTRICT, DivisionLevel.TOWNSHIP)
        counts = dict(
            session.execute(
                select(Division.level, func.count()).where(Division.level.in_(reference)).group_by(Division.level)
            ).all()
        )
        kinds = dict(
            session.execute(
                select(Division.kind, func.count())
                .where(Division.level == DivisionLevel.TOWNSHIP)
                .group_by(Division.kind)
            ).all()
        )
    assert counts == {"municipality": 1, "district": 16, "township": 216}
    assert kinds == {"subdistrict": 108, "town": 106, "township": 2}
    added = migrate.upgrade(db)
    assert added == 0, f"a second upgrade added {added} reference divisions"  # idempotent


def test_sqlite_is_wal_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()


def test_downgrade_to_base_and_up_again(backend: str, db: Database) -> None:
    from alembic import command

    cfg = migrate._config(db)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        conn.commit()
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(db)
    assert migrate.drift(db) == []


def test_cli_upgrade_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'onecity.db'}"
    env = {"ONECITY_DATABASE_URL": url, "ONECITY_ENV": "test", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "onecity", "db", "upgrade"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert all(h in r.stdout for h in head_revisions()) and "233" in r.stdout
    r = subprocess.run([sys.executable, "-m", "onecity", "db", "check"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr


@pytest.mark.postgres
def test_cli_upgrade_on_a_fresh_postgresql_database(pg_url: str) -> None:
    fresh = pg_url + "_fresh"
    admin = Database(pg_url)
    name = fresh.rsplit("/", 1)[1]
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        env = {"ONECITY_DATABASE_URL": fresh, "ONECITY_ENV": "test", "PATH": "/usr/bin:/bin"}
        r = subprocess.run([sys.executable, "-m", "onecity", "db", "upgrade"], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        assert all(h in r.stdout for h in head_revisions())
    finally:
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
