"""The audit chain: written with the change, verifiable, and tamper-evident."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from onecity.core import audit, audit_checkpoints
from onecity.core.audit import AuditEntry
from onecity.core.config import Environment, Settings
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
    audit.seal(db)  # what the server's sealer does within a second


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
        # swap the places of two entries in the chain (reordering), recomputing nothing
        (
            [
                "UPDATE audit_log SET pos = 100 WHERE pos = 2",
                "UPDATE audit_log SET pos = 2 WHERE pos = 3",
                "UPDATE audit_log SET pos = 3 WHERE pos = 100",
            ],
            2,
            "does not follow",
        ),
        # renumber an entry, keeping its place
        (["UPDATE audit_log SET seq = 100 WHERE seq = 4"], 4, "altered"),
        # unseal an entry so that the sealer chains it again at the end
        (["UPDATE audit_log SET pos = NULL, prev_hash = NULL, hash = NULL WHERE seq = 3"], 3, "missing"),
    ],
    ids=["edit-purpose", "edit-detail", "delete-middle", "delete-last", "reorder", "renumber", "unseal"],
)
def test_any_tampering_names_the_first_bad_entry(db: Database, statements: list[str], bad_seq: int, words: str) -> None:
    _write(db, 5)
    _tamper(db, *statements)
    audit.seal(db)  # the sealer may run meanwhile: it cannot paper over the damage
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
        env={
            "ONECITY_DATABASE_URL": db.url,
            "ONECITY_ENV": "test",
            "PATH": "/usr/bin:/bin",
            "ONECITY_ENV_FILE": "none",
        },
    )
    ok = env_cmd()
    assert ok.returncode == 0, ok.stderr
    assert "4 entries" in ok.stdout
    _tamper(db, "UPDATE audit_log SET action = 'test.thing.undone' WHERE seq = 3")
    bad = env_cmd()
    assert bad.returncode == 1
    assert "entry 3" in bad.stderr


# -- signed checkpoints (issue 12: an audit log an insider cannot rewrite unnoticed) --------------------


def _cli(db: Database, key_file: object, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "onecity", "audit", *args],
        capture_output=True,
        text=True,
        env={
            "ONECITY_DATABASE_URL": db.url,
            "ONECITY_ENV": "test",
            "ONECITY_AUDIT_KEY_FILE": str(key_file),
            "PATH": "/usr/bin:/bin",
            "ONECITY_ENV_FILE": "none",
        },
    )


def _rewrite(db: Database, seq: int, actor: str) -> None:
    """What an insider with write access does: drop the append-only triggers, edit entry ``seq``,
    recompute every hash from there on and the head, and remove the database's own checkpoints."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
            conn.execute(text("DROP TRIGGER audit_log_seal_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
    with db.sessions() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        session.expunge_all()
    prev = audit.GENESIS
    with db.engine.begin() as conn:
        for e in entries:
            if e.seq == seq:
                e.actor = actor
            e.prev_hash = prev
            prev = audit._digest(audit._content(e))
            conn.execute(
                text("UPDATE audit_log SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"a": e.actor, "p": e.prev_hash, "h": prev, "s": e.seq},
            )
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})
        conn.execute(text("DELETE FROM audit_checkpoints"))


def test_checkpoints_catch_a_full_rewrite_with_recomputed_hashes(db: Database, tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "audit-checkpoint.key"
    exported = tmp_path / "elsewhere" / "checkpoints.json"
    exported.parent.mkdir()
    _write(db, 5)
    first = _cli(db, key_file, "checkpoint")
    assert first.returncode == 0 and "entry 5" in first.stdout, first.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # created on first use, for the owner only
    assert _cli(db, key_file, "checkpoint").stdout.startswith("no new checkpoint")  # the head has not moved
    _write(db, 3)
    settings = Settings(env=Environment.TEST, database_url=db.url, audit_key_file=key_file)
    signed = audit_checkpoints.checkpoint(db, settings)
    assert signed is not None and signed.seq == 8
    out = _cli(db, key_file, "checkpoints", "--export", str(exported))
    assert out.returncode == 0 and "2 checkpoints" in out.stdout, out.stderr
    doc = json.loads(exported.read_text(encoding="utf-8"))
    assert [c["seq"] for c in doc["checkpoints"]] == [5, 8] and len(doc["keys"]) == 1
    assert "PRIVATE" not in exported.read_text(encoding="utf-8")
    assert _cli(db, key_file, "verify", "--checkpoints", str(exported)).returncode == 0
    _write(db, 2)  # the log goes on after the export: still agrees

    try:
        _rewrite(db, 3, "user:nobody-saw-this")
        plain = _cli(db, key_file, "verify")
        assert plain.returncode == 0 and "intact: 10 entries" in plain.stdout  # the chain alone is fooled
        caught = _cli(db, key_file, "verify", "--checkpoints", str(exported))
        assert caught.returncode == 1
        assert "BROKEN at entry 5" in caught.stderr and "checkpoint at entry 5" in caught.stderr, caught.stderr
        # re-exporting from the rewritten database cannot overwrite the evidence
        with db.sessions() as session:
            audit_checkpoints.sign(session, audit_checkpoints.load_or_create_key(key_file))
            session.commit()
        again = _cli(db, key_file, "checkpoints", "--export", str(exported))
        assert again.returncode == 1 and "disagrees" in again.stderr, again.stderr
    finally:
        if db.dialect == "postgresql":  # the PostgreSQL test database is shared: put the trigger back
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "CREATE TRIGGER audit_log_append_only BEFORE DELETE OR TRUNCATE ON audit_log "
                        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
                    )
                )
                conn.execute(
                    text(
                        "CREATE TRIGGER audit_log_seal_only BEFORE UPDATE ON audit_log "
                        "FOR EACH ROW EXECUTE FUNCTION audit_log_seal_only()"
                    )
                )


def test_a_forged_or_altered_checkpoints_file_is_refused(db: Database, tmp_path: Path) -> None:
    _write(db, 3)
    key = audit_checkpoints.load_or_create_key(tmp_path / "k.key")
    with db.transaction() as session:
        audit_checkpoints.sign(session, key)
    path = tmp_path / "cp.json"
    with db.sessions() as session:
        assert audit_checkpoints.export(session, path) == (1, 1)
    good = json.loads(path.read_text(encoding="utf-8"))
    assert len(audit_checkpoints.read_file(path)) == 1
    # someone "fixes" the file to match a rewritten chain: the signature no longer holds
    forged = json.loads(json.dumps(good))
    forged["checkpoints"][0]["head"] = "f" * 64
    path.write_text(json.dumps(forged), encoding="utf-8")
    with pytest.raises(audit_checkpoints.CheckpointError, match="checkpoint at entry 3.*bad signature"):
        audit_checkpoints.read_file(path)
    # or swaps in a key of their own under the old name
    other = audit_checkpoints.load_or_create_key(tmp_path / "other.key")
    swapped = json.loads(json.dumps(good))
    swapped["keys"][0]["x"] = other.x
    path.write_text(json.dumps(swapped), encoding="utf-8")
    with pytest.raises(audit_checkpoints.CheckpointError, match="thumbprint"):
        audit_checkpoints.read_file(path)
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(audit_checkpoints.CheckpointError, match="not an audit checkpoints document"):
        audit_checkpoints.read_file(path)


def test_a_chain_cut_below_a_checkpoint_is_caught_and_progress_is_reported(db: Database, tmp_path: Path) -> None:
    _write(db, 4)
    key = audit_checkpoints.load_or_create_key(tmp_path / "k.key")
    with db.transaction() as session:
        audit_checkpoints.sign(session, key)
        doc = audit_checkpoints.published(session)
    checkpoints = audit_checkpoints.read_document(doc)
    seen: list[tuple[int, int]] = []
    with db.sessions() as session:
        result = audit.verify(session, checkpoints=checkpoints, progress=lambda done, total: seen.append((done, total)))
    assert result.ok and result.checkpoints == 1 and seen == [(4, 4)]
    # cut the last entries off and move the head back: the chain alone agrees, the checkpoint does not
    _tamper(db, "DELETE FROM audit_log WHERE seq > 2")
    with db.engine.begin() as conn:
        h = conn.execute(text("SELECT hash FROM audit_log WHERE seq = 2")).scalar_one()
        conn.execute(text("UPDATE audit_head SET seq = 2, hash = :h"), {"h": h})
    with db.sessions() as session:
        assert audit.verify(session).ok
        cut = audit.verify(session, checkpoints=checkpoints)
    assert (
        not cut.ok and "chain ends at entry 2" in (cut.reason or "") and "checkpoint at entry 4" in (cut.reason or "")
    )


def test_checkpoints_are_published_to_auditors_and_signed_by_the_server(
    db: Database, tmp_path: Path, make_user: Callable[..., object]
) -> None:
    from fastapi.testclient import TestClient

    from onecity.api.app import create_app
    from onecity.core.bus import connect_bus
    from onecity.core.identity.roles import PrincipalKind, Role
    from onecity.core.parts import PeriodicTask
    from onecity.core.tasks import TaskContext
    from onecity.parts import PLATFORM
    from tests.conftest import CITY, PASSWORD

    assert PeriodicTask("audit-checkpoints", "onecity.core.audit_checkpoints:run", every_seconds=60.0) in PLATFORM.tasks
    settings = Settings(
        env=Environment.TEST, database_url=db.url, audit_key_file=tmp_path / "k.key", audit_checkpoint_seconds=600
    )
    _write(db, 2)
    ctx = TaskContext(db, settings, connect_bus("memory://"))
    assert audit_checkpoints.run(ctx) is None  # a process's first minute signs nothing (tests' apps live seconds)
    signed = audit_checkpoints.run(ctx, first_delay=0)
    assert signed is not None and signed.seq == 2
    _write(db, 1)
    assert audit_checkpoints.run(ctx, first_delay=0) is None  # the last one is not ten minutes old yet
    make_user("auditor", Role.AUDITOR, division_code=CITY)
    make_user("resident", kind=PrincipalKind.CITIZEN, division_code=None)
    with TestClient(create_app(settings, db=db), raise_server_exceptions=False) as client:

        def token(name: str) -> dict[str, str]:
            r = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        r = client.get("/api/v1/audit/checkpoints", headers=token("auditor"))
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["checkpoints"][0]["seq"] >= 2 and doc["keys"][0]["crv"] == "Ed25519"
        assert audit_checkpoints.read_document(doc)[0].seq == doc["checkpoints"][0]["seq"]  # verifies as published
        denied = client.get("/api/v1/audit/checkpoints", headers=token("resident"))
        assert denied.status_code == 403 and denied.headers["content-type"].startswith("application/problem+json")
        assert client.get("/api/v1/audit/checkpoints").status_code == 401
        schema = client.get("/openapi.json").json()
        assert "/api/v1/audit/checkpoints" in schema["paths"]


# -- group commit: writers append, one sealer chains (issue 13) ----------------------------------------


def test_entries_wait_unsealed_until_the_sealer_chains_them(db: Database) -> None:
    with db.transaction() as session:
        audit.record(session, SYSTEM, "test.thing.done", object_type="thing", object_id="a")
    with db.sessions() as session:
        e = session.scalars(select(AuditEntry)).one()
        assert e.pos is None and e.hash is None  # written, visible to queries, not chained yet
        result = audit.verify(session)
        assert result.ok and result.entries == 0 and result.unsealed == 1
    assert audit.seal(db) == 1 and audit.seal(db) == 0
    with db.sessions() as session:
        result = audit.verify(session)
        assert result.ok and result.entries == 1 and result.unsealed == 0


def test_a_batch_is_written_as_given_in_order_and_sealed_in_that_order(db: Database) -> None:
    """One statement for the whole batch (on PostgreSQL its rows travel as one JSON parameter): every
    column reads back as given, the entries keep the batch's order, and the sealer's one ``UPDATE``
    for the batch chains them in it."""
    from datetime import UTC, datetime, timedelta, timezone

    from onecity.core import clock

    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 12, 5, 20, 15, 30, 123456, tzinfo=shanghai)
    batch = [
        audit.BatchEntry("person", "p-1", "person:1", "310104003000", {"fields": ["姓名", "住址"], "n": 1}),
        audit.BatchEntry("person", None, None, None, None),
        audit.BatchEntry("person", "p-3", "person:3", "310104", {"nested": {"a": [1, 2.5, None, True]}}),
    ]
    with clock.frozen(at), db.transaction() as session:
        assert audit.record_many(session, SYSTEM, "test.person.read", batch, purpose="核查 case 7") == 3
    with db.sessions() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [(e.object_id, e.subject, e.division_code, e.detail) for e in rows] == [
            ("p-1", "person:1", "310104003000", {"fields": ["姓名", "住址"], "n": 1}),
            (None, None, None, {}),
            ("p-3", "person:3", "310104", {"nested": {"a": [1, 2.5, None, True]}}),
        ]
        assert {(e.at, e.purpose, e.outcome, e.actor, e.action) for e in rows} == {
            (at.astimezone(UTC), "核查 case 7", "success", SYSTEM.ref, "test.person.read")
        }
    assert audit.seal(db) == 3
    with db.sessions() as session:
        assert [e.pos for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))] == [1, 2, 3]
        assert audit.verify(session).ok


def test_the_database_refuses_editing_an_entry_before_it_is_sealed(db: Database) -> None:
    with db.transaction() as session:
        audit.record(session, SYSTEM, "test.thing.done", object_type="thing", purpose="p")
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET purpose = 'other', pos = 1, prev_hash = 'x', hash = 'y'"))


def test_concurrent_writers_and_two_sealers_lose_and_repeat_nothing(db: Database) -> None:
    import threading

    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(25):
                with db.transaction() as session:
                    audit.record(session, SYSTEM, "test.thing.done", object_type="thing", object_id=f"{k}-{i}")
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    def sealer() -> None:
        try:
            while not stop.is_set():
                audit.seal(db, limit=7)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    writers = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    sealers = [threading.Thread(target=sealer) for _ in range(2)]
    for t in writers + sealers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in sealers:
        t.join()
    assert not errors, errors
    audit.seal(db)
    with db.sessions() as session:
        result = audit.verify(session)
        assert result.ok and result.entries == 100 and result.unsealed == 0, result
        ids = list(session.scalars(select(AuditEntry.object_id)))
        positions = list(session.scalars(select(AuditEntry.pos).order_by(AuditEntry.pos)))
    assert Counter(ids) == Counter(f"{k}-{i}" for k in range(4) for i in range(25))
    assert positions == list(range(1, 101))


KILLED_SEALER = """
import sys, time
from onecity.core import audit
from onecity.core.db import Database
db = Database(sys.argv[1])
with db.transaction() as session:
    n = audit.seal_batch(session)
    print(n, flush=True)
    time.sleep(60)  # killed here, before the commit
"""


def test_a_sealer_killed_mid_batch_loses_and_repeats_nothing(db: Database) -> None:
    import os
    import signal

    _write(db, 3)  # sealed
    for i in range(40):
        with db.transaction() as session:
            audit.record(session, SYSTEM, "test.thing.done", object_type="thing", object_id=f"late-{i}")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_SEALER, db.url], stdout=subprocess.PIPE, text=True, env=env
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "40"  # sealed, not committed
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
    with db.sessions() as session:
        assert audit.verify(session).unsealed == 40
    assert audit.seal(db) == 40
    with db.sessions() as session:
        result = audit.verify(session)
        assert result.ok and result.entries == 43 and result.unsealed == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 43
