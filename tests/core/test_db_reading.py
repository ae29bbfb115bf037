"""A long read never holds SQLite's one writer: ``Database.reading`` begins deferred (WAL gives it a
snapshot), while ordinary transactions begin immediate as before."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from onecity.core.db import Database


def test_a_reader_leaves_the_writer_free_and_keeps_its_snapshot(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        with db.transaction() as s:
            s.execute(text("CREATE TABLE t (x INTEGER)"))
        with db.reading() as reader:
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
            began = time.monotonic()
            with db.transaction() as writer:  # would wait the whole busy timeout behind BEGIN IMMEDIATE
                writer.execute(text("INSERT INTO t VALUES (1)"))
            assert time.monotonic() - began < 1
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0  # its snapshot
        with db.sessions() as ordinary:
            ordinary.execute(text("SELECT 1"))
            other = sqlite3.connect(tmp_path / "r.db", timeout=0.1)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")  # an ordinary session still takes the writer up front
            finally:
                other.close()
    finally:
        db.dispose()
