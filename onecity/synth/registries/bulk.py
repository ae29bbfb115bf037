"""Bulk writes: COPY on PostgreSQL, one ``executemany`` per chunk on SQLite.

The ORM inserts about 68k rows a second; COPY about 265k and SQLite's ``executemany`` about
300k (see DESIGN "Facts measured"), so registries of tens of millions of rows go through
this writer. Rows arrive as *columns* of text (what the generator's NumPy arrays become),
already in the database's text form: dates ``YYYY-MM-DD``, timestamps naive UTC (the PostgreSQL
transaction runs with ``TIME ZONE 'UTC'``), ``None`` for NULL. SQLite's column affinity turns
the text of numbers into numbers, as PostgreSQL's COPY does.

On PostgreSQL a seed into empty tables can run in *fast-load* mode: the secondary indexes,
unique and foreign-key constraints of the tables being loaded are dropped inside the
transaction and rebuilt at the end. Rebuilding checks every row at once (a unique index build
finds duplicates, adding a foreign key finds dangling references), which is far faster than
checking row by row and is still a check: if any row is wrong the whole seed rolls back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, ForeignKeyConstraint, Table, UniqueConstraint
from sqlalchemy.schema import AddConstraint, CreateIndex

Columns = dict[str, Sequence[str | None]]

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(columns: Columns, names: Sequence[str], *, escape: bool) -> bytes:
    """The rows as PostgreSQL COPY text: tab-separated, ``\\N`` for NULL."""
    cols: list[Sequence[str | None]] = []
    for name in names:
        col = columns[name]
        if escape or None in col:
            col = ["\\N" if v is None else (v.translate(_COPY_ESCAPES) if escape else v) for v in col]
        cols.append(col)
    body = "\n".join(map("\t".join, zip(*cols, strict=True)))
    return (body + "\n").encode("utf-8") if body else b""


class BulkWriter:
    """Writes column chunks into tables over one raw DBAPI connection, in one transaction at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.raw: Any = engine.raw_connection()
        self._open = False

    # -- transactions --
    def begin(self) -> None:
        if self._open:
            return
        if self.dialect == "sqlite":
            self.raw.driver_connection.execute("BEGIN IMMEDIATE")
        else:
            cur = self.raw.cursor()
            cur.execute("SET LOCAL TIME ZONE 'UTC'")
            cur.close()
        self._open = True

    def commit(self) -> None:
        if self.dialect == "sqlite":
            if self._open:
                self.raw.driver_connection.execute("COMMIT")
        else:
            self.raw.commit()
        self._open = False

    def rollback(self) -> None:
        if self.dialect == "sqlite":
            if self._open:
                self.raw.driver_connection.execute("ROLLBACK")
        else:
            self.raw.rollback()
        self._open = False

    def close(self) -> None:
        if self._open:
            self.rollback()
        self.raw.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cur = self.raw.cursor()
        try:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []
        finally:
            cur.close()

    # -- writing --
    def prepare(self, table: Table, columns: Columns, *, escape: bool = True) -> Prepared:
        """Format the rows for this database (the CPU-heavy half, safe to run in another thread)."""
        names = [c.name for c in table.columns if c.name in columns]
        n = len(columns[names[0]]) if names else 0
        if self.dialect == "postgresql":
            return Prepared(table, names, n, copy_text(columns, names, escape=escape))
        return Prepared(table, names, n, list(zip(*(columns[c] for c in names), strict=True)))

    def send(self, prepared: Prepared) -> int:
        """Write prepared rows inside the current transaction; returns the row count."""
        if prepared.rows == 0:
            return 0
        self.begin()
        cols = ", ".join(f'"{c}"' for c in prepared.names)
        if self.dialect == "postgresql":
            from psycopg.copy import QueuedLibpqWriter

            with (
                self.raw.cursor() as cur,
                cur.copy(f'COPY "{prepared.table.name}" ({cols}) FROM STDIN', writer=QueuedLibpqWriter(cur)) as copy,
            ):
                copy.write(prepared.payload)
        else:
            marks = ", ".join("?" for _ in prepared.names)
            cur = self.raw.driver_connection.cursor()
            cur.executemany(f'INSERT INTO "{prepared.table.name}" ({cols}) VALUES ({marks})', prepared.payload)
            cur.close()
        return prepared.rows

    def write(self, table: Table, columns: Columns, *, escape: bool = True) -> int:
        """Append the rows (all columns the same length) to ``table``; returns the row count."""
        return self.send(self.prepare(table, columns, escape=escape))


@dataclass(frozen=True)
class Prepared:
    """Rows of one table formatted for the database: COPY text, or tuples for ``executemany``."""

    table: Table
    names: list[str]
    rows: int
    payload: Any


@contextmanager
def fast_load(writer: BulkWriter, tables: Sequence[Table]) -> Iterator[None]:
    """On PostgreSQL, drop the tables' secondary indexes and constraints now and rebuild them at the end.

    Must run inside the writer's single transaction: a failure anywhere rolls the drops back
    too. On SQLite it does nothing (the executemany path checks as it goes).
    """
    if writer.dialect != "postgresql":
        yield
        return
    writer.begin()
    fks = [c for t in tables for c in t.constraints if isinstance(c, ForeignKeyConstraint)]
    uniques = [c for t in tables for c in t.constraints if isinstance(c, UniqueConstraint)]
    indexes = [i for t in tables for i in sorted(t.indexes, key=lambda i: str(i.name))]
    dialect = writer.engine.dialect
    for c in fks + uniques:
        writer.execute(f'ALTER TABLE "{c.table.name}" DROP CONSTRAINT IF EXISTS "{c.name}"')
    for i in indexes:
        writer.execute(f'DROP INDEX IF EXISTS "{i.name}"')
    yield
    writer.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for u in uniques:
        writer.execute(str(AddConstraint(u).compile(dialect=dialect)))
    for i in indexes:
        writer.execute(str(CreateIndex(i).compile(dialect=dialect)))
    for c in fks:
        writer.execute(str(AddConstraint(c).compile(dialect=dialect)))
