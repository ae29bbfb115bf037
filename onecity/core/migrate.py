"""Schema migrations (Alembic) and the reference data every database starts with."""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, text

from onecity.core import parts
from onecity.core.db import Base, Database
from onecity.core.divisions import load_reference_divisions
from onecity.core.errors import Conflict


def import_all_models() -> None:
    """Register every installed part's tables on ``Base.metadata`` (the ``models`` of its manifest)."""
    parts.import_all("models")


def _versions() -> Path:
    return Path(str(resources.files("onecity") / "migrations" / "versions"))


def _config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("onecity") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", db.url)
    return cfg


def upgrade(db: Database, revision: str = "heads") -> int:
    """Bring the schema to ``revision`` and load reference data; returns rows of it added."""
    cfg = _config(db)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
    with db.transaction() as session:
        return load_reference_divisions(session)


def revision(db: Database, message: str, *, directory: Path | None = None) -> Path:
    """Autogenerate a new migration from the models (developers: `onecity db revision -m`),
    after the one head, numbered like the others (``0012_what_changed.py``); returns its file.

    ``db`` must be upgraded to the head first (autogenerate compares it with the models).
    ``directory`` writes the file there instead of into onecity/migrations/versions (tests).
    """
    cfg = _config(db)
    script = ScriptDirectory.from_config(cfg)
    heads = script.get_heads()
    if len(heads) != 1:
        raise Conflict(
            f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}): a new migration needs one "
            "parent; set the newest migration's down_revision to the head it should follow"
        )
    numbers = [int(m.group(1)) for rev in script.walk_revisions() if (m := re.match(r"(\d{4})_", rev.revision))]
    slug = "_".join(re.findall(r"[a-z0-9]+", message.lower()))[:40].strip("_") or "change"
    rev_id = f"{max(numbers, default=0) + 1:04d}_{slug}"
    cfg.set_main_option("file_template", "%%(rev)s")
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("version_locations", os.pathsep.join([str(_versions()), str(directory)]))
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        made = command.revision(
            cfg,
            message=message,
            autogenerate=True,
            rev_id=rev_id,
            version_path=str(directory) if directory is not None else None,
        )
    if not isinstance(made, Script):
        raise Conflict(f"alembic made no single migration for {message!r}")
    return Path(made.path)


#: A model's ``Table.info`` key naming the column its table is range-partitioned by on PostgreSQL
#: (``sta_observations``: ``phenomenon_time``, migration 0032). See :func:`comparison`.
PARTITIONED_BY = "postgresql_partitioned_by"


def comparison(conn: Connection) -> dict[str, Any]:
    """How models and schema are compared, by :func:`drift` and by ``onecity db revision`` alike.

    One declared exception, PostgreSQL's partitioned tables (a model whose ``Table.info`` has
    :data:`PARTITIONED_BY`): their partitions are tables the database makes and drops at run
    time, not models, so they are left out of the comparison; and PostgreSQL requires every
    unique constraint of a partitioned table to include the partition key, so a unique
    constraint that is the model's columns followed by that key, under the model's name, counts
    as the model's. Anything else about such a table (a column, an index, another constraint,
    the same constraint with other columns) is still drift.
    """
    keys = {t.name: str(t.info[PARTITIONED_BY]) for t in Base.metadata.tables.values() if PARTITIONED_BY in t.info}
    partitions: set[str] = set()
    if conn.dialect.name == "postgresql" and keys:
        partitions = set(conn.scalars(text("SELECT relname FROM pg_class WHERE relispartition")))

    def include_name(name: str | None, type_: str, parent: Any) -> bool:
        return not (type_ == "table" and name in partitions)

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ != "unique_constraint" or reflected or compare_to is None or not partitions:
            return True
        key = keys.get(obj.table.name)
        widened = [c.name for c in obj.columns] + [key]
        return not (key is not None and [c.name for c in compare_to.columns] == widened)

    return {"compare_type": True, "include_name": include_name, "include_object": include_object}


def drift(db: Database) -> list[Any]:
    """Differences between the models and the migrated schema; empty when they agree
    (the one exception: :func:`comparison`)."""
    import_all_models()
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts=comparison(conn))
        return list(compare_metadata(ctx, Base.metadata))


def head() -> str:
    """The revision(s) the code's migrations end at, comma-separated like :func:`current`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("onecity") / "migrations"))
    return ",".join(sorted(ScriptDirectory.from_config(cfg).get_heads()))


def current(db: Database) -> str:
    """The applied revision(s), comma-separated when parts of the schema have their own heads."""
    with db.engine.connect() as conn:
        return ",".join(sorted(MigrationContext.configure(conn).get_current_heads()))
