"""The transition helper's order on both backends: a refused policy locks and writes nothing, a
wrong state is a Conflict in the reader's language with nothing written, a change done leaves
an audit entry from → to and its event in the outbox (gone with a rollback)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import String, event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from onecity.core import events, transition
from onecity.core.audit import AuditEntry
from onecity.core.db import Database
from onecity.core.errors import Conflict, NotFound, PermissionDenied
from onecity.core.events import OutboxMessage
from onecity.core.identity.principal import Principal
from onecity.core.identity.roles import PrincipalKind, Role
from onecity.ops import service as _ops_actions  # noqa: F401  (registers ops.case.dispose, the action used here)
from onecity.web import i18n


class _Base(DeclarativeBase):
    """Not the platform's metadata: the table lives only as long as one test."""


class Lamp(_Base):
    __tablename__ = "test_transition_lamps"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    division_code: Mapped[str] = mapped_column(String(12))


class LampSwitched(BaseModel):
    lamp_id: str
    status: str


SWITCHED = events.event_type("test.lamp.switched", LampSwitched)
# the words of a real machine, so the Conflict can be said in both languages
LAMPS = transition.Machine(Lamp, object_type="test_lamp", noun="ops.case.noun", states="ops.status.")
IN_XUHUI = transition.in_area("ops.case")

OPERATOR = Principal(
    kind=PrincipalKind.STAFF,
    id="u-op",
    name="op",
    roles=frozenset({Role.OPERATOR}),
    division_code="310104000000",
)
HUANGPU_OPERATOR = Principal(
    kind=PrincipalKind.STAFF,
    id="u-hp",
    name="hp",
    roles=frozenset({Role.OPERATOR}),
    division_code="310101000000",
)
AUDITOR = Principal(
    kind=PrincipalKind.STAFF,
    id="u-au",
    name="au",
    roles=frozenset({Role.AUDITOR}),
    division_code="310104000000",
)


@pytest.fixture
def lamps(db: Database) -> Iterator[Database]:
    _Base.metadata.create_all(db.engine)
    with db.transaction() as session:
        session.add(Lamp(id="L1", status="dispatched", division_code="310104003000"))
    yield db
    _Base.metadata.drop_all(db.engine)


def _switch(
    session: Session, who: Principal, *, to: str = "disposing", allowed: tuple[str, ...] = ("dispatched",)
) -> None:
    change = transition.begin(session, who, LAMPS, "L1", action="ops.case.dispose", guard=IN_XUHUI, allowed=allowed)
    change.row.status = to
    change.done("test.lamp.switched", SWITCHED, LampSwitched(lamp_id="L1", status=to), reason="switched")


def _written(db: Database) -> tuple[str, int, int]:
    with db.sessions() as session:
        status = session.scalar(select(Lamp.status).where(Lamp.id == "L1"))
        audits = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.object_type == "test_lamp")
        )
        outbox = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.event_type == SWITCHED.name)
        )
    return str(status), int(audits or 0), int(outbox or 0)


class _Statements:
    """Every SQL statement the engine runs while counting."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: list[str] = []

    def __enter__(self) -> _Statements:
        event.listen(self.db.engine, "before_cursor_execute", self._note)
        return self

    def __exit__(self, *exc: Any) -> None:
        event.remove(self.db.engine, "before_cursor_execute", self._note)

    def _note(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(statement)


def test_a_refused_policy_reads_locks_and_writes_nothing(lamps: Database) -> None:
    with (
        _Statements(lamps) as sql,
        pytest.raises(PermissionDenied, match="ops.case.dispose"),
        lamps.transaction() as session,
    ):
        _switch(session, AUDITOR)
    assert not [s for s in sql.seen if "test_transition_lamps" in s or "INSERT" in s or "UPDATE" in s]
    assert _written(lamps) == ("dispatched", 0, 0)


def test_the_guard_runs_on_the_locked_row_and_a_refusal_writes_nothing(lamps: Database) -> None:
    with (
        _Statements(lamps) as sql,
        pytest.raises(PermissionDenied, match="outside your area"),
        lamps.transaction() as session,
    ):
        _switch(session, HUANGPU_OPERATOR)
    locks = [s for s in sql.seen if "test_transition_lamps" in s]
    if lamps.dialect == "postgresql":
        assert locks and all("FOR UPDATE" in s for s in locks)
    assert not [s for s in sql.seen if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert _written(lamps) == ("dispatched", 0, 0)


def test_a_wrong_state_is_a_conflict_in_the_readers_language_and_nothing_is_written(lamps: Database) -> None:
    with pytest.raises(Conflict) as caught, lamps.transaction() as session:
        _switch(session, OPERATOR, allowed=("reported", "verified"))
    err = caught.value
    assert err.extra == {"state": "dispatched", "allowed": ["reported", "verified"]}
    assert "L1 is dispatched" in err.detail
    assert i18n.say("zh", err) == "案件 L1 当前为「已派遣」，此操作只能在「已反馈或已核查」时进行。"
    assert i18n.say("en", err) == "case L1 is Dispatched: this can be done only while it is Reported back or Verified."
    assert _written(lamps) == ("dispatched", 0, 0)


def test_a_missing_row_is_not_found(lamps: Database) -> None:
    with pytest.raises(NotFound), lamps.transaction() as session:
        transition.begin(session, OPERATOR, LAMPS, "nope", action="ops.case.dispose", allowed=None)


def test_a_change_done_is_audited_from_to_and_its_event_waits_in_the_outbox(lamps: Database) -> None:
    with lamps.transaction() as session:
        _switch(session, OPERATOR)
    assert _written(lamps) == ("disposing", 1, 1)
    with lamps.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "test_lamp")).one()
        msg = session.scalars(select(OutboxMessage).where(OutboxMessage.event_type == SWITCHED.name)).one()
    assert (entry.action, entry.object_id, entry.actor, entry.division_code) == (
        "test.lamp.switched",
        "L1",
        OPERATOR.ref,
        "310104003000",
    )
    assert entry.detail == {"from": "dispatched", "to": "disposing"}
    assert msg.published_at is None and msg.payload == {"lamp_id": "L1", "status": "disposing"}
    # the next step of the same record starts from where this one ended
    with pytest.raises(Conflict), lamps.transaction() as session:
        _switch(session, OPERATOR)


def test_a_rolled_back_change_leaves_neither_audit_nor_event(lamps: Database) -> None:
    with pytest.raises(RuntimeError), lamps.transaction() as session:
        _switch(session, OPERATOR)
        raise RuntimeError("the request failed after the change")
    assert _written(lamps) == ("dispatched", 0, 0)


def test_steps_of_one_change_chain_from_and_to(lamps: Database) -> None:
    with lamps.transaction() as session:
        change = transition.begin(session, OPERATOR, LAMPS, "L1", action="ops.case.dispose", allowed=("dispatched",))
        for to in ("disposing", "reported"):
            change.row.status = to
            change.done("test.lamp.switched", SWITCHED, LampSwitched(lamp_id="L1", status=to), reason=to)
    with lamps.sessions() as session:
        details = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.object_type == "test_lamp").order_by(AuditEntry.seq)
        ).all()
    assert details == [{"from": "dispatched", "to": "disposing"}, {"from": "disposing", "to": "reported"}]


def test_on_postgresql_the_row_is_locked_until_commit(lamps: Database) -> None:
    """A second change of a record waits for the first; a caller refused by the policy does not wait."""
    if lamps.dialect != "postgresql":
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE: there are no row locks to see")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lamps.transaction() as session:
            transition.begin(session, OPERATOR, LAMPS, "L1", action="ops.case.dispose", allowed=None)
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(PermissionDenied), lamps.transaction() as session:
            session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            _switch(session, AUDITOR)  # refused at once: never asks for the row
        with pytest.raises(OperationalError, match="lock"), lamps.transaction() as session:
            session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            _switch(session, OPERATOR)  # waits for the holder's lock
    finally:
        release.set()
        holder.join(10)
    assert _written(lamps) == ("dispatched", 0, 0)
