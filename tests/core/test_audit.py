"""The audit chain: written with the change, verifiable, and tamper-evident."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text

from onecity.core import audit
from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.errors import InvalidInput
from tests.conftest import SYSTEM


def _write(db: Database, n: int) -> None:
    for i in range(n):
        with db.transaction() as session:
            audit.record(
                session,
                SYSTEM,
                "test.thing.done",
                object_type="thing",
                object_id=str(i),
                detail={"i": i, "text": "中文"},
            )


def _tamper(db: Database, *statements: str) -> None:
    """Edit the log as someone with database access would: past the append-only trigger."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for s in statements:
                conn.execute(text(s))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
            for s in statements:
                conn.execute(text(s))


def test_chain_of_untouched_log_verifies(db: Database) -> None:
    _write(db, 5)
    with db.sessions() as session:
        result = audit.verify(session)
        assert result.ok and result.entries == 5
        seqs = list(session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
    assert seqs == [1, 2, 3, 4, 5]


def test_entry_rolls_back_with_its_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as session:
        audit.record(session, SYSTEM, "test.thing.done", object_type="thing")
        raise RuntimeError("the change failed")
    _write(db, 1)
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
        assert audit.verify(session).ok


def test_database_refuses_updates_and_deletes(db: Database) -> None:
    _write(db, 1)
    for stmt in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(stmt))


@pytest.mark.parametrize(
    ("statements", "bad_seq", "words"),
    [
        (["UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 3"], 3, "altered"),
        (['UPDATE audit_log SET detail = \'{"i": 99, "text": "中文"}\' WHERE seq = 2'], 2, "altered"),
        (["DELETE FROM audit_log WHERE seq = 2"], 2, "missing"),
        (["DELETE FROM audit_log WHERE seq = 5"], 5, "missing"),
        # swap the content of two entries (reordering), recomputing nothing
        (
            [
                "UPDATE audit_log SET seq = 100 WHERE seq = 2",
                "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = 100",
            ],
            2,
            "does not follow",
        ),
    ],
    ids=["edit-purpose", "edit-detail", "delete-middle", "delete-last", "reorder"],
)
def test_any_tampering_names_the_first_bad_entry(db: Database, statements: list[str], bad_seq: int, words: str) -> None:
    _write(db, 5)
    _tamper(db, *statements)
    with db.sessions() as session:
        result = audit.verify(session)
    assert not result.ok
    assert result.first_bad_seq == bad_seq
    assert words in (result.reason or "")


def test_recomputed_hash_of_edited_entry_still_breaks_the_chain(db: Database) -> None:
    """A forger who fixes up the edited row's own hash is caught at the next entry."""
    _write(db, 3)
    with db.sessions() as session:
        e = session.get(AuditEntry, 2)
        assert e is not None
        e.actor = "user:someone-else"
        content = audit._content(e)
        new_hash = audit._digest(content)
        session.rollback()
    _tamper(db, f"UPDATE audit_log SET actor = 'user:someone-else', hash = '{new_hash}' WHERE seq = 2")
    with db.sessions() as session:
        result = audit.verify(session)
    assert not result.ok and result.first_bad_seq == 3


def test_personal_read_needs_a_purpose(db: Database) -> None:
    with db.transaction() as session, pytest.raises(InvalidInput, match="purpose"):
        audit.personal_read(session, SYSTEM, "hub.person.read", "person:1", purpose="  ")


def test_actions_must_be_namespaced(db: Database) -> None:
    with db.transaction() as session, pytest.raises(ValueError, match="namespaced"):
        audit.record(session, SYSTEM, "read", object_type="x")


def test_cli_verify_exit_codes(db: Database, tmp_path: object) -> None:
    _write(db, 4)
    env_cmd: Callable[[], subprocess.CompletedProcess[str]] = lambda: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "onecity", "audit", "verify"],
        capture_output=True,
        text=True,
        env={"ONECITY_DATABASE_URL": db.url, "ONECITY_ENV": "test", "PATH": "/usr/bin:/bin"},
    )
    ok = env_cmd()
    assert ok.returncode == 0, ok.stderr
    assert "4 entries" in ok.stdout
    _tamper(db, "UPDATE audit_log SET action = 'test.thing.undone' WHERE seq = 3")
    bad = env_cmd()
    assert bad.returncode == 1
    assert "entry 3" in bad.stderr
