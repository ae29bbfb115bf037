"""Schema migrations (Alembic) and the reference data every database starts with."""

from __future__ import annotations

import importlib
from importlib import resources
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from onecity.core.db import Base, Database
from onecity.core.divisions import load_reference_divisions

#: Modules whose import registers tables on ``Base.metadata``; each part adds its own.
MODEL_MODULES = [
    "onecity.core.models",
    "onecity.hub.geography.models",
    "onecity.hub.registries.models",
    "onecity.hub.catalogue.models",
    "onecity.hub.sharing.models",
    "onecity.credentials.models",
    "onecity.services.models",
    "onecity.sensing.models",
    "onecity.documents.models",
    "onecity.ops.models",
]


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)


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


def revision(db: Database, message: str) -> None:
    """Autogenerate a new migration from the models (developers: `onecity db revision -m`)."""
    cfg = _config(db)
    with db.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)


def drift(db: Database) -> list[Any]:
    """Differences between the models and the migrated schema; empty when they agree."""
    import_all_models()
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def current(db: Database) -> str:
    """The applied revision(s), comma-separated when parts of the schema have their own heads."""
    with db.engine.connect() as conn:
        return ",".join(sorted(MigrationContext.configure(conn).get_current_heads()))
