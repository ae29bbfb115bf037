"""One shape for every state change: check, lock, check the state, save, audit from/to, publish.

Every part changes its records' states the same way, in the caller's transaction::

    change = transition.begin(
        session, principal, CASES, case_id,
        action="ops.case.dispose",            # 1. the policy: the action's roles, before anything is read
        guard=in_unit,                        # 3. the record's own rule (its area, its unit, its applicant)
        allowed=(Status.DISPATCHED,),         # 4. the states it may leave
    )                                         # 2. in between: the row is locked
    change.row.status = Status.DISPOSING      # 5. the part's own changes
    change.done("ops.case.accepted", ACCEPTED, payload, reason="…")   # 6. save, audit, event

1. **Policy** (:func:`onecity.core.policy.require`): a caller without the action's role is
   refused before anything is read, locked or written.
2. **Row lock**: ``SELECT … FOR UPDATE`` on PostgreSQL, so a second change of the same record
   waits for the first to commit and then sees its result; SQLite has one writer and every
   transaction takes its write lock at the start (``BEGIN IMMEDIATE``, :mod:`onecity.core.db`).
   The row is read afresh (``populate_existing``): what the checks see is what is committed.
3. **The record's guard** (area, unit, who the applicant is) runs on the locked row; a
   refusal writes nothing (the caller's transaction rolls back).
4. **State**: a row whose state is not one of ``allowed`` is a :class:`Conflict` naming the
   state it is in and the ones it must be in, with catalogue :class:`Words` so the pages say
   it in the reader's language.
5. The caller changes the row (and whatever else the step needs).
6. :meth:`Change.done` flushes, writes the audit entry with ``from`` and ``to``, and puts the
   event in the outbox, which the relay sends after the commit (never for a rolled-back
   change). Every transition publishes: ``done`` takes the event, not an option.

A record created by a transition (a case opened) starts with :func:`created`; a row the
caller already holds locked (a step taken by the platform inside another change) with
:func:`locked`. ``done`` may be called again for the next step of the same change (a case
registered and dispatched at once): each entry's ``from`` is the previous one's ``to``.

Slow work (OCR, rendering, anything waiting on a network) is done before :func:`begin`,
outside the transaction, and handed in: a lock is held only while rows are written.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from onecity.core import audit, events, policy
from onecity.core.errors import Conflict, Key, NotFound, Words
from onecity.core.events import EventType
from onecity.core.identity.principal import Principal

M = TypeVar("M")
P = TypeVar("P", bound=BaseModel)

#: A record's own rule, run on the locked row: raises PermissionDenied (or NotFound) to refuse.
Guard = Callable[[Session, Principal, M], None]


def _status(row: Any) -> str | None:
    value = getattr(row, "status", None)
    return None if value is None else str(value.value if hasattr(value, "value") else value)


def _division(row: Any) -> str | None:
    value = getattr(row, "division_code", None)
    return None if value is None else str(value)


def _no_subject(row: Any) -> str | None:
    return None


def _id(row: Any) -> str:
    return str(row.id)


@dataclass(frozen=True)
class Machine(Generic[M]):
    """What the transitions of one kind of record share: its table and how to name it and its states.

    ``noun`` and ``states`` are catalogue keys: ``noun`` names one such record ("案件" /
    "case"), ``states + state`` each state (``"ops.status."`` + ``"dispatched"``); ``label``
    is the record's name in the API's (English) messages.
    """

    model: type[M]
    object_type: str
    noun: str
    states: str
    label: str = "record"
    #: The record as people name it in a message (its number, else its id).
    name: Callable[[M], str] = _id
    #: The record's id in the audit log.
    ident: Callable[[M], str] = _id
    state: Callable[[M], str | None] = _status
    division: Callable[[M], str | None] = _division
    #: Whose personal data the record is (``person:<id>``), for "who touched my data".
    subject: Callable[[M], str | None] = _no_subject


def in_area(resource: str) -> Guard[Any]:
    """The guard of records kept per division: the principal's area (or a grant) covers the row's."""

    def guard(session: Session, principal: Principal, row: Any) -> None:
        policy.require_in_scope(session, principal, resource, _division(row))

    return guard


def lock(session: Session, model: type[M], key: Any, *, missing: str | None = None) -> M:
    """The row, locked for the rest of the transaction and read afresh; NotFound if there is none."""
    row = session.get(model, key, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound(missing or f"no {getattr(model, '__tablename__', model.__name__)} {key}")
    return row


def conflict(machine: Machine[M], row: M, allowed: Collection[str], doing: str | None = None) -> Conflict:
    """The refusal of a step the row's state does not allow, in words the pages translate.

    ``doing`` says the step in the API's message: "only a case that is dispatched can be accepted".
    """
    state = machine.state(row) or "-"
    name = machine.name(row)
    ordered = tuple(dict.fromkeys(allowed))
    either = " or ".join(ordered)
    label = machine.label
    return Conflict(
        f"{label} {name} is {state}; "
        + (
            f"only a {label} that is {either} can be {doing}"
            if doing
            else f"this can be done only while it is {either}"
        ),
        words=Words(
            "transition.conflict",
            {
                "thing": Key(machine.noun),
                "name": name,
                "state": Key(machine.states + state),
                "allowed": tuple(Key(machine.states + s) for s in ordered),
            },
        ),
        state=state,
        allowed=list(ordered),
    )


@dataclass
class Change(Generic[M]):
    """One locked record being changed: what :func:`begin` checked, and what :meth:`done` records."""

    session: Session
    principal: Principal
    machine: Machine[M]
    row: M
    #: The state the row was in when the change began (None for a record being created).
    before: str | None
    steps: list[str] = field(default_factory=list)

    def require(self, *allowed: Any, doing: str | None = None) -> None:
        """Check the state again mid-change (a step that depends on what the change found)."""
        names = [str(a.value if hasattr(a, "value") else a) for a in allowed]
        if self.machine.state(self.row) not in names:
            raise conflict(self.machine, self.row, names, doing)

    def done(
        self,
        audit_action: str,
        event: EventType[P],
        payload: P,
        *,
        reason: str,
        principal: Principal | None = None,
        detail: dict[str, Any] | None = None,
        purpose: str | None = None,
        deleted: bool = False,
    ) -> None:
        """Save, then the audit entry (``from`` → ``to``) and the event, in the caller's transaction.

        ``deleted``: the change removed the record (``session.delete``), so it is in no state after.
        """
        who = principal or self.principal
        self.session.flush()
        after = None if deleted else self.machine.state(self.row)
        audit.record(
            self.session,
            who,
            audit_action,
            object_type=self.machine.object_type,
            object_id=self.machine.ident(self.row),
            subject=self.machine.subject(self.row),
            purpose=purpose,
            division_code=self.machine.division(self.row),
            detail={"from": self.before, "to": after, **(detail or {})},
        )
        events.publish(self.session, event, payload, principal=who, reason=reason[: events.REASON_MAX])
        self.steps.append(audit_action)
        self.before = after

    def as_rows(
        self,
        audit_action: str,
        event: EventType[P],
        payload: P,
        *,
        reason: str,
        detail: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """What :meth:`done` writes, as rows: the audit entry (``audit_log``) and the event (``outbox``).

        For a change written as one statement together with them (PostgreSQL's ``INSERT`` in a
        ``WITH``): the caller writes the record, the entry and the event in that one statement, so
        they commit together or not at all, and calls :func:`onecity.core.events.written`. The step
        then counts as done here (the next one's ``from`` is this one's ``to``).
        """
        after = self.machine.state(self.row)
        entry = audit.entry_row(
            self.principal,
            audit_action,
            audit.BatchEntry(
                self.machine.object_type,
                self.machine.ident(self.row),
                self.machine.subject(self.row),
                self.machine.division(self.row),
                {"from": self.before, "to": after, **(detail or {})},
            ),
        )
        message = events.message_row(event, payload, principal=self.principal, reason=reason[: events.REASON_MAX])
        self.steps.append(audit_action)
        self.before = after
        return entry, message


def begin(
    session: Session,
    principal: Principal,
    machine: Machine[M],
    key: Any,
    *,
    action: str | None,
    allowed: Collection[Any] | None,
    guard: Guard[M] | None = None,
    missing: str | None = None,
    doing: str | None = None,
) -> Change[M]:
    """Check the policy, lock the row, run its guard and check its state: a change ready to be made.

    ``action`` None is a step the platform takes on its own (a clock's reminder), whose caller
    holds no role to check; ``allowed`` None is a step any state allows (a note on the record).
    """
    if action is not None:
        policy.require(principal, action)
    row = lock(session, machine.model, key, missing=missing)
    if guard is not None:
        guard(session, principal, row)
    before = machine.state(row)
    if allowed is not None:
        names = [str(a.value if hasattr(a, "value") else a) for a in allowed]
        if before not in names:
            raise conflict(machine, row, names, doing)
    return Change(session, principal, machine, row, before)


def created(session: Session, principal: Principal, machine: Machine[M], row: M) -> Change[M]:
    """A change that brings a new record into being (its audit entry's ``from`` is None)."""
    session.add(row)
    return Change(session, principal, machine, row, None)


def locked(session: Session, principal: Principal, machine: Machine[M], row: M) -> Change[M]:
    """A change of a row the caller already locked and checked (a step inside another change)."""
    return Change(session, principal, machine, row, machine.state(row))
